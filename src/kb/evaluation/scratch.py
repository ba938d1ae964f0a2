"""The scratch side of an evaluation: where its index lives, the query-vector
cache shared by every mode, the stand-in model of a lexical-only run, and which
gold evidence the index holds."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.evaluation.datasets import EvalSet
from kb.index.load import KnowledgeIndex
from kb.ingest.chunk import ChunkerConfig
from kb.models.embed import DelegatingEmbedder, Embedder
from kb.settings import Settings


class QueryVectorCache(DelegatingEmbedder):
    """An Embedder that computes each query vector once and remembers how long
    that took; ``replayed`` adds up the time of vectors served from memory so a
    mode's latency can include its (shared) query embedding."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self._cache: dict[str, tuple[np.ndarray, float]] = {}
        self.replayed = 0.0

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for t in texts:
            hit = self._cache.get(t)
            if hit is None:
                t0 = time.perf_counter()
                vec = self.inner.encode_queries([t])[0]
                hit = (vec, time.perf_counter() - t0)
                self._cache[t] = hit
            else:
                self.replayed += hit[1]
            rows.append(hit[0])
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack(rows).astype(np.float32)


class NullEmbedder:
    """Stands in for a model when every evaluated mode is lexical: the index
    still gets (constant, meaningless) vectors, so building costs no embedding."""

    model_id = "none:lexical-only"
    weights_id = "none:lexical-only"
    dim = 8
    prompts: dict[str, str] = {"query": "", "passage": ""}  # noqa: RUF012

    def _zeros(self, n: int) -> np.ndarray:
        out = np.zeros((n, self.dim), dtype=np.float32)
        out[:, 0] = 1.0
        return out

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._zeros(len(texts))

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        if progress:
            progress(len(texts))
        return self._zeros(len(texts))


@dataclass
class IndexInfo:
    path: str
    seconds: float
    texts_embedded: int
    texts_reused: int
    documents: int
    chunks: int
    sentences: int
    skipped: int

    def to_dict(self) -> dict[str, object]:
        return {**self.__dict__, "seconds": round(self.seconds, 3)}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "x"


def index_dir_for(
    evalset: EvalSet, settings: Settings, model_name: str, work_dir: Path, chunker: ChunkerConfig
) -> Path:
    """One scratch index per (corpus, model, chunking) under ``work_dir``."""
    corpus = (
        f"corpus-{_slug(settings.corpus_dir.resolve().name)}"
        if evalset.documents is None
        else (f"{evalset.format}-{_slug(evalset.name)}")
    )
    return (
        work_dir / f"{corpus}--{_slug(model_name)}--c{chunker.chunk_size}-{chunker.chunk_overlap}"
    )


def evidence_coverage(evalset: EvalSet, index: KnowledgeIndex) -> list[str]:
    """Answerable gold questions whose evidence no indexed chunk contains."""
    if evalset.format != "gold":
        return []
    missing = []
    for q in evalset.queries:
        if q.answerable and not any(evalset.is_relevant(c, q) for c in index.chunks):
            missing.append(q.qid)
    return missing
