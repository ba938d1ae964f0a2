"""Candidate scoring helpers for the query path: scores of a few hundred chunk
rows, computed from stored vectors (memory-mapped) without touching the rest."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Depths:
    """How many candidates each signal contributes for a request of ``k`` hits."""

    chunks: int
    sentences: int
    lexical: int
    entity_docs: int
    far: int  # least similar chunks, read to estimate each signal's floor

    @classmethod
    def for_k(cls, k: int) -> Depths:
        return cls(
            chunks=max(100, 10 * k),
            sentences=max(200, 20 * k),
            lexical=max(100, 10 * k),
            entity_docs=5,
            far=32,
        )


def sentence_rows(
    sentence_start: np.ndarray, chunk_rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """All sentence rows of the given chunks, and each chunk's count of them."""
    rows = np.asarray(chunk_rows, dtype=np.int64)
    starts = np.asarray(sentence_start[rows], dtype=np.int64)
    ends = np.asarray(sentence_start[rows + 1], dtype=np.int64)
    counts = ends - starts
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), counts
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return np.arange(total, dtype=np.int64) + offsets, counts


def dot_rows(vectors: np.ndarray, rows: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``vectors[rows] @ q`` (rows gathered in sorted order, for mmap locality)."""
    if not len(rows):
        return np.zeros(0, dtype=np.float32)
    order = np.argsort(rows, kind="stable")
    out = np.empty(len(rows), dtype=np.float32)
    out[order] = np.asarray(vectors[rows[order]], dtype=np.float32) @ q.astype(np.float32)
    return out


def max_per_chunk(values: np.ndarray, counts: np.ndarray, fill: float) -> np.ndarray:
    """Max of each chunk's consecutive run of ``values`` (``fill`` for none)."""
    out = np.full(len(counts), fill, dtype=np.float32)
    has = counts > 0
    if values.size and has.any():
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[has]
        out[has] = np.maximum.reduceat(values, starts)
    return out


def scale(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Min-max scaling with given bounds, clipped to [0, 1]; a flat range gives 0."""
    if hi - lo <= 1e-12:
        return np.zeros(len(values), dtype=np.float32)
    return np.clip((values.astype(np.float64) - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)
