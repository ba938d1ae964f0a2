"""BM25 over the project tokenizer, stored as plain arrays (no pickle).

A query sums the precomputed weights of its terms' columns (kb/index/sparse.py,
memory-mapped CSC arrays), touching only those terms' postings; the per-term BM25
weights are precomputed at build time (Lucene-style BM25 with
``idf = ln(1 + (N - df + 0.5) / (df + 0.5))``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.index.sparse import CSCColumns, SparseHits


@dataclass(frozen=True)
class BM25Params:
    # k1 0.5 rather than the usual 1.2: overlapping bigrams repeat a word's
    # evidence, so term frequency should saturate sooner (KorQuAD BM25 top-1
    # 0.909 -> 0.918, CMRC unchanged within 0.01; README "Retrieval quality")
    k1: float = 0.5
    b: float = 0.75


class BM25Index:
    def __init__(self, matrix: CSCColumns, vocab: dict[str, int], params: BM25Params) -> None:
        self.matrix = matrix  # [n_docs, n_terms], BM25 term weights, CSC arrays
        self.vocab = vocab
        self.params = params

    @property
    def n_docs(self) -> int:
        return int(self.matrix.shape[0])

    @classmethod
    def build(
        cls, token_lists: Sequence[Sequence[str]], params: BM25Params | None = None
    ) -> BM25Index:
        params = params or BM25Params()
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        tfs: list[float] = []
        lengths = np.zeros(len(token_lists), dtype=np.float32)
        for i, tokens in enumerate(token_lists):
            lengths[i] = len(tokens)
            for term, tf in Counter(tokens).items():
                j = vocab.setdefault(term, len(vocab))
                rows.append(i)
                cols.append(j)
                tfs.append(tf)
        n = len(token_lists)
        row_a = np.asarray(rows, dtype=np.int64)
        col_a = np.asarray(cols, dtype=np.int64)
        tf_a = np.asarray(tfs, dtype=np.float32)
        df = np.bincount(col_a, minlength=len(vocab)).astype(np.float32)
        idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        avg = float(lengths.mean()) if n and lengths.mean() > 0 else 1.0
        norm = params.k1 * (1 - params.b + params.b * lengths[row_a] / avg)
        weights = idf[col_a] * tf_a * (params.k1 + 1) / (tf_a + norm)
        matrix = CSCColumns.from_triplets(row_a, col_a, weights, (n, len(vocab)))
        return cls(matrix, vocab, params)

    def _columns(
        self, query_tokens: Sequence[str], weights: Sequence[float] | None
    ) -> dict[int, float]:
        q: dict[int, float] = {}
        for i, t in enumerate(query_tokens):
            j = self.vocab.get(t)
            if j is not None:
                q[j] = q.get(j, 0.0) + (1.0 if weights is None else float(weights[i]))
        return q

    def query(
        self, query_tokens: Sequence[str], weights: Sequence[float] | None = None
    ) -> SparseHits:
        """BM25 scores of the documents sharing a term with the query (repeated
        terms count again), touching only those terms' postings."""
        return self.matrix.query(self._columns(query_tokens, weights))

    def scores(
        self, query_tokens: Sequence[str], weights: Sequence[float] | None = None
    ) -> np.ndarray:
        """BM25 score of every document for the query, as a dense array (for
        evaluation scripts; the query path uses ``query``)."""
        hits = self.query(query_tokens, weights)
        out = np.zeros(self.n_docs, dtype=np.float32)
        out[hits.docs] = hits.scores
        return out

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.matrix.save(directory)
        terms = [""] * len(self.vocab)
        for t, j in self.vocab.items():
            terms[j] = t
        meta = {
            "shape": list(self.matrix.shape),
            "k1": self.params.k1,
            "b": self.params.b,
            "terms": terms,
        }
        (directory / "bm25.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, mmap: bool = True) -> BM25Index:
        meta = json.loads((directory / "bm25.json").read_text(encoding="utf-8"))
        rows, cols = (int(x) for x in meta["shape"])
        matrix = CSCColumns.load(directory, (rows, cols), mmap=mmap)
        vocab = {t: j for j, t in enumerate(meta["terms"])}
        return cls(matrix, vocab, BM25Params(k1=meta["k1"], b=meta["b"]))
