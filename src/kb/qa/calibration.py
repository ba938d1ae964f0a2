"""The answer model: logistic regression over candidate features, fitted on the
development gold set and stored as JSON (``src/kb/data/answer_model.json``).

It scores every candidate sentence; the best one is the evidence, and when even
the best scores below ``threshold`` the answer is "not found". The threshold was
chosen on the development set from the curve of answered-correctly against
abstained-correctly (``benchmarks/fit_answer_model.py`` writes both).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = "answer_model.json"


class AnswerModelError(ValueError):
    """The answer model file is missing, unreadable or does not fit this kb."""


@dataclass(frozen=True)
class AnswerModel:
    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    # feature standardization used in fitting: x' = (x - mean) / scale
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def probability(self, features: Mapping[str, float]) -> float:
        z = self.bias
        for name, w, mu, sd in zip(self.features, self.weights, self.mean, self.scale, strict=True):
            z += w * (features.get(name, 0.0) - mu) / sd
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], expected: Sequence[str] | None = None) -> AnswerModel:
        try:
            model = cls(
                features=tuple(str(f) for f in d["features"]),
                weights=tuple(float(w) for w in d["weights"]),
                bias=float(d["bias"]),
                threshold=float(d["threshold"]),
                mean=tuple(float(m) for m in d["mean"]),
                scale=tuple(float(s) for s in d["scale"]),
                fitted_on=dict(d.get("fitted_on", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise AnswerModelError(f"answer model is damaged ({exc!s})") from None
        n = len(model.features)
        if not (len(model.weights) == len(model.mean) == len(model.scale) == n) or n == 0:
            raise AnswerModelError(
                "answer model is damaged (feature, weight and scale counts differ)"
            )
        if any(s <= 0 for s in model.scale) or not 0.0 < model.threshold < 1.0:
            raise AnswerModelError("answer model is damaged (scale or threshold out of range)")
        if expected is not None and set(model.features) - set(expected):
            unknown = ", ".join(sorted(set(model.features) - set(expected)))
            raise AnswerModelError(
                f"answer model uses features this kb does not compute: {unknown}"
            )
        return model


def load_answer_model(
    path: Path | None = None, expected: Sequence[str] | None = None
) -> AnswerModel:
    """The packaged answer model, or the one at ``path`` (AnswerModelError, one line,
    naming the file, when it is missing or damaged)."""
    where = str(path) if path is not None else f"kb/data/{MODEL_FILE}"
    try:
        if path is None:
            text = resources.files("kb.data").joinpath(MODEL_FILE).read_text(encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnswerModelError(f"answer model {where} is unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise AnswerModelError(f"answer model {where} is damaged (not a JSON object)")
    try:
        return AnswerModel.from_dict(data, expected)
    except AnswerModelError as exc:
        raise AnswerModelError(f"{where}: {exc}") from None


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 500
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """L2-regularized logistic regression by Newton's method on standardized
    features. Returns (weights, bias, mean, scale); the bias is not penalized."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    a = np.hstack([z, np.ones((len(z), 1))])
    w = np.zeros(a.shape[1])
    penalty = np.full(a.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(a @ w, -60, 60)))
        grad = a.T @ (p - y) + penalty * w
        hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(penalty) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-10:
            break
    return w[:-1], float(w[-1]), mean, scale
