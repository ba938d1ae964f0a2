"""The Embedder protocol every model implements, and what the embedders share.

Every embedder returns float32 arrays of shape ``[n, dim]``, L2-normalized, so
inner product is cosine similarity.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """What the index and the retrievers need from an embedding model."""

    @property
    def model_id(self) -> str:
        """Stable identity written into the index manifest."""
        ...

    @property
    def dim(self) -> int: ...

    @property
    def weights_id(self) -> str:
        """What identifies the weights, whatever runs them (models/identity.py):
        the manifest records it, and an index opens only with equal weights."""
        ...

    @property
    def prompts(self) -> dict[str, str]:
        """Prefixes applied to queries and passages (recorded in the manifest)."""
        ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray: ...


def normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(x / norms, dtype=np.float32)


def batches(texts: Sequence[str], size: int) -> list[list[str]]:
    return [list(texts[i : i + size]) for i in range(0, len(texts), size)]


class DelegatingEmbedder:
    """Forwards the Embedder protocol to ``inner``; a wrapper (a cache, a
    counter) subclasses it and overrides only what it changes."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def weights_id(self) -> str:
        return self.inner.weights_id

    @property
    def prompts(self) -> dict[str, str]:
        return self.inner.prompts

    @property
    def runtime(self) -> str:
        return str(getattr(self.inner, "runtime", self.inner.model_id))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.encode_queries(texts)

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        return self.inner.encode_passages(texts, progress=progress)


def text_key(model_id: str, text: str) -> str:
    """Cache key for one embedded text: model identity + exact text."""
    return hashlib.sha256(f"{model_id}\x00{text}".encode()).hexdigest()[:32]
