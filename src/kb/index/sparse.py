"""Sparse term-weight matrices queried bm25s-style: the score of a document is the
sum of its weights in the query terms' columns, so a query touches only the
postings of its own terms, never an array the size of the corpus.

The matrix is kept as plain CSC arrays (``data``, ``indices``, ``indptr``, saved
as ``.npy`` and opened memory-mapped); scipy is used only to build it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

FILES = ("data.npy", "indices.npy", "indptr.npy")


@dataclass(frozen=True)
class SparseHits:
    """Documents with a positive score, unordered; ``max`` is the best score (0: none)."""

    docs: np.ndarray  # int64 document rows
    scores: np.ndarray  # float32, same length

    @property
    def max(self) -> float:
        return float(self.scores.max()) if self.scores.size else 0.0

    def top(self, k: int) -> SparseHits:
        if self.docs.size <= k:
            return self
        part = np.argpartition(-self.scores, k - 1)[:k]
        return SparseHits(self.docs[part], self.scores[part])

    def lookup(self, rows: np.ndarray) -> np.ndarray:
        """Scores of the given document rows (0 where the query did not touch them)."""
        out = np.zeros(len(rows), dtype=np.float32)
        if not self.docs.size or not len(rows):
            return out
        order = np.argsort(self.docs)
        sorted_docs = self.docs[order]
        pos = np.searchsorted(sorted_docs, rows)
        pos = np.minimum(pos, len(sorted_docs) - 1)
        found = sorted_docs[pos] == rows
        out[found] = self.scores[order[pos[found]]]
        return out


def load_array(path: Path, mmap: bool = True) -> np.ndarray:
    """``np.load`` memory-mapped (read-only); an empty array is read normally
    (an empty file region cannot be mapped)."""
    if mmap:
        try:
            mapped: np.ndarray = np.load(path, mmap_mode="r", allow_pickle=False)
            return mapped
        except ValueError:
            pass
    arr: np.ndarray = np.load(path, allow_pickle=False)
    return arr


class CSCColumns:
    """A [n_docs, n_terms] matrix as CSC arrays, queried by columns."""

    def __init__(
        self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: tuple[int, int]
    ) -> None:
        self.data = data
        self.indices = indices
        self.indptr = indptr
        self.shape = shape

    @classmethod
    def from_triplets(
        cls, rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]
    ) -> CSCColumns:
        m = sparse.csc_matrix((values, (rows, cols)), shape=shape, dtype=np.float32)
        m.sum_duplicates()
        m.sort_indices()
        return cls(
            m.data.astype(np.float32),
            m.indices.astype(np.int32),
            m.indptr.astype(np.int64),
            (int(shape[0]), int(shape[1])),
        )

    def query(self, columns: Mapping[int, float]) -> SparseHits:
        """Sum of ``weight * column`` over the given columns, as sparse hits."""
        if not columns:
            return SparseHits(np.zeros(0, np.int64), np.zeros(0, np.float32))
        docs: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        for j, w in columns.items():
            a, b = int(self.indptr[j]), int(self.indptr[j + 1])
            if b > a:
                docs.append(np.asarray(self.indices[a:b], dtype=np.int64))
                vals.append(np.asarray(self.data[a:b], dtype=np.float32) * np.float32(w))
        if not docs:
            return SparseHits(np.zeros(0, np.int64), np.zeros(0, np.float32))
        all_docs = np.concatenate(docs)
        all_vals = np.concatenate(vals)
        uniq, inv = np.unique(all_docs, return_inverse=True)
        scores = np.bincount(inv, weights=all_vals, minlength=len(uniq)).astype(np.float32)
        keep = scores > 0
        return SparseHits(uniq[keep], scores[keep])

    def column_rows(self, j: int) -> np.ndarray:
        """Rows with a non-zero in column ``j``."""
        return np.asarray(self.indices[int(self.indptr[j]) : int(self.indptr[j + 1])])

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name, arr in zip(FILES, (self.data, self.indices, self.indptr), strict=True):
            np.save(directory / name, np.ascontiguousarray(arr), allow_pickle=False)

    @classmethod
    def load(cls, directory: Path, shape: tuple[int, int], mmap: bool = True) -> CSCColumns:
        data, indices, indptr = (load_array(directory / name, mmap) for name in FILES)
        if len(indptr) != shape[1] + 1 or len(data) != len(indices):
            raise ValueError(f"sparse arrays in {directory} do not match shape {shape}")
        return cls(data, indices, indptr, shape)
