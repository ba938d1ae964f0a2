"""The answer model, fitted on the development gold set and stored as JSON
(``src/kb/data/answer_model.json``): two small linear models.

* The **ranker** scores every candidate sentence of a question; a softmax over a
  question's candidates gives each the chance of being the evidence. It is fitted
  as a conditional logit (the likelihood of the gold evidence among the question's
  candidates), so it learns what makes one sentence better than its neighbours.
* The **abstainer** is a logistic regression on the best candidate (its ranker
  score and share, the margin to the runner-up, and a few of its features): the
  chance that answering from it is right. Below ``threshold`` the answer is
  "not found". The threshold was chosen on the development set from the curve of
  answered-correctly against abstained-correctly (``benchmarks/fit_answer_model.py``
  writes both).
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

from kb.errors import AnswerModelError

MODEL_FILE = "answer_model.json"
# what the abstainer reads besides the best candidate's own features
QUESTION_FEATURES = ("rank_score", "rank_share", "rank_margin")


@dataclass(frozen=True)
class Linear:
    """``bias + Σ weight · (x - mean) / scale``; a feature that is missing counts as
    its mean (a retrieval without a second encoder leaves that signal neutral)."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    bias: float = 0.0

    def score(self, x: Mapping[str, float]) -> float:
        z = self.bias
        for name, w, mu, sd in zip(self.features, self.weights, self.mean, self.scale, strict=True):
            z += w * (x.get(name, mu) - mu) / sd
        return z

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Linear:
        out = cls(
            features=tuple(str(f) for f in d["features"]),
            weights=tuple(float(w) for w in d["weights"]),
            mean=tuple(float(m) for m in d["mean"]),
            scale=tuple(float(s) for s in d["scale"]),
            bias=float(d.get("bias", 0.0)),
        )
        n = len(out.features)
        if n == 0 or not (len(out.weights) == len(out.mean) == len(out.scale) == n):
            raise AnswerModelError("feature, weight and scale counts differ")
        if any(s <= 0 for s in out.scale):
            raise AnswerModelError("a feature scale is not positive")
        return out


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


@dataclass(frozen=True)
class AnswerModel:
    ranker: Linear
    abstainer: Linear
    threshold: float
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def rank(self, candidates: Sequence[Mapping[str, float]]) -> list[float]:
        return [self.ranker.score(c) for c in candidates]

    def confidence(self, best: Mapping[str, float], scores: Sequence[float]) -> float:
        """The chance that answering from the best-ranked candidate is right."""
        return sigmoid(self.abstainer.score({**best, **question_features(scores)}))

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], expected: Sequence[str] | None = None) -> AnswerModel:
        try:
            model = cls(
                ranker=Linear.from_dict(d["ranker"]),
                abstainer=Linear.from_dict(d["abstainer"]),
                threshold=float(d["threshold"]),
                fitted_on=dict(d.get("fitted_on", {})),
            )
        except AnswerModelError as exc:
            raise AnswerModelError(f"answer model is damaged ({exc})") from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise AnswerModelError(f"answer model is damaged ({exc!s})") from None
        if not 0.0 < model.threshold < 1.0:
            raise AnswerModelError("answer model is damaged (threshold out of range)")
        if expected is not None:
            known = set(expected) | set(QUESTION_FEATURES)
            unknown = (set(model.ranker.features) | set(model.abstainer.features)) - known
            if unknown:
                names = ", ".join(sorted(unknown))
                raise AnswerModelError(
                    f"answer model uses features this kb does not compute: {names}"
                )
        return model


def question_features(scores: Sequence[float]) -> dict[str, float]:
    """The best ranker score, its softmax share and its margin over the runner-up."""
    if not scores:
        return {"rank_score": 0.0, "rank_share": 0.0, "rank_margin": 0.0}
    ordered = sorted(scores, reverse=True)
    top = ordered[0]
    share = 1.0 / sum(math.exp(s - top) for s in ordered)
    margin = top - ordered[1] if len(ordered) > 1 else 5.0
    return {"rank_score": top, "rank_share": share, "rank_margin": min(margin, 5.0)}


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


def standardize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return (x - mean) / scale, mean, scale


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 500
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """L2-regularized logistic regression by Newton's method on standardized
    features. Returns (weights, bias, mean, scale); the bias is not penalized."""
    z, mean, scale = standardize(np.asarray(x, dtype=np.float64))
    y = np.asarray(y, dtype=np.float64)
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


def _logit_objective(
    w: np.ndarray, z: np.ndarray, groups: Sequence[np.ndarray], pos: np.ndarray, l2: float
) -> float:
    total = 0.5 * l2 * float(w @ w)
    for g in groups:
        s = z[g] @ w
        top = s.max()
        total -= math.log(float(np.exp(s[pos[g]] - top).sum())) - math.log(
            float(np.exp(s - top).sum())
        )
    return total


def fit_conditional_logit(
    x: np.ndarray,
    groups: Sequence[np.ndarray],
    positive: np.ndarray,
    l2: float = 1.0,
    iterations: int = 100,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights maximizing, over questions, the log of the softmax mass on their
    positive candidates (``groups`` holds each question's candidate rows; questions
    without a positive are left out), with an L2 penalty: damped Newton steps on
    standardized features. Returns (weights, mean, scale)."""
    z, mean, scale = standardize(np.asarray(x, dtype=np.float64))
    pos = np.asarray(positive, dtype=bool)
    used = [g for g in groups if len(g) and pos[g].any()]
    w = np.zeros(z.shape[1])
    current = _logit_objective(w, z, used, pos, l2)
    for _ in range(iterations):
        grad = l2 * w
        hess = l2 * np.eye(len(w))
        for g in used:
            zg = z[g]
            s = zg @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            q = p * pos[g]
            q /= q.sum()
            # d/dw of -log(softmax mass on the positives) = E_p[x] - E_q[x]
            ep, eq = p @ zg, q @ zg
            grad += ep - eq
            hess += (zg * p[:, None]).T @ zg - np.outer(ep, ep)
        step = np.linalg.solve(hess + 1e-9 * np.eye(len(w)), grad)
        t = 1.0
        while t > 1e-4:
            trial = w - t * step
            value = _logit_objective(trial, z, used, pos, l2)
            if value <= current:
                break
            t /= 2
        else:
            break
        w, improvement, current = trial, current - value, value
        if improvement < 1e-10:
            break
    return w, mean, scale
