"""Score normalization and fusion: small pure functions over numpy arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def minmax(scores: np.ndarray) -> np.ndarray:
    """Scale to [0, 1]; a constant vector becomes all zeros."""
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        return s.astype(np.float32)
    lo, hi = float(s.min()), float(s.max())
    if hi - lo <= 1e-12:
        return np.zeros_like(s, dtype=np.float32)
    return ((s - lo) / (hi - lo)).astype(np.float32)


def max_scale(scores: np.ndarray) -> np.ndarray:
    """Divide by the maximum (BM25: 0 stays 0, the best match is 1)."""
    s = np.asarray(scores, dtype=np.float64)
    hi = float(s.max()) if s.size else 0.0
    if hi <= 0:
        return np.zeros_like(s, dtype=np.float32)
    return (s / hi).astype(np.float32)


def center_by_group(scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Subtract each group's mean and add back the overall mean.

    Dense models score passages in the query's language higher across the board;
    centering each document language removes that offset without stretching a
    group's spread (z-scoring would make every language's best passage look
    equally good).
    """
    s = np.asarray(scores, dtype=np.float64)
    out = s.copy()
    overall = float(s.mean()) if s.size else 0.0
    for g in np.unique(groups):
        mask = groups == g
        out[mask] = s[mask] - float(s[mask].mean()) + overall
    return out.astype(np.float32)


def weighted_sum(components: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """Sum of ``weights[name] * components[name]`` over the named components."""
    total: np.ndarray | None = None
    for name, w in weights.items():
        if w == 0 or name not in components:
            continue
        term = w * np.asarray(components[name], dtype=np.float64)
        total = term if total is None else total + term
    if total is None:
        raise ValueError("no component has a positive weight")
    return total.astype(np.float32)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = 60) -> dict[int, float]:
    """RRF: ``sum(1 / (k + rank))`` over rankings, rank counted from 1."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


def max_by_group(
    values: np.ndarray, group_of: np.ndarray, n_groups: int, fill: float
) -> np.ndarray:
    """For each group id in ``range(n_groups)``, the max of its values (``fill`` if none)."""
    out = np.full(n_groups, -np.inf, dtype=np.float64)
    np.maximum.at(out, np.asarray(group_of, dtype=np.int64), np.asarray(values, dtype=np.float64))
    out[np.isneginf(out)] = fill
    return out.astype(np.float32)
