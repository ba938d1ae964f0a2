"""What a build is asked (``BuildConfig``) and what it reports (``BuildReport``),
and the clock that times its stages."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.index import ann
from kb.index import chunk_vectors as chunkvec
from kb.index.tokenize import TokenizerConfig
from kb.ingest.chunk import ChunkerConfig
from kb.ingest.load import Skipped


@dataclass(frozen=True)
class BuildConfig:
    chunker: ChunkerConfig
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    rebuild: bool = False  # nothing reused from earlier builds
    keep_builds: int = 1  # older builds kept for readers that still have them open
    build_threads: int = 0  # torch threads while embedding (0: every core)
    ann_threshold: int = ann.DEFAULT_THRESHOLD  # vectors from which IVF replaces flat
    chunk_vectors: str = chunkvec.DEFAULT  # recipe of the chunk vectors (index/chunk_vectors.py)


@dataclass(frozen=True)
class BuildReport:
    """What one ``build_index`` call did.

    ``added`` / ``changed`` / ``removed`` are corpus-relative sources, compared with
    the previous live build by document id and sha256 of the file bytes (a document
    whose file was renamed to another extension counts as changed). ``unchanged``
    is how many documents kept their chunks as they were.

    Every chunk is embedded as a whole and once per sentence (and once more per
    sentence by the second encoder, if any: the fields of index/fields.py).
    ``chunks_embedded`` is the number of those texts, counted once per distinct
    text and model, that were actually run through a model in this build;
    ``chunks_reused`` is the number of distinct texts whose vector came from the
    embedding cache instead: the previous build's vectors, plus any that a build
    killed part-way had already made (same model only; none with ``rebuild``). Their sum is the
    number of distinct texts in the new index, so an unchanged corpus reports
    ``chunks_embedded == 0``.

    ``seconds`` is the wall time of the whole build (lock held); ``timings``
    breaks it down by stage (seconds).
    """

    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: int
    chunks_embedded: int
    chunks_reused: int
    seconds: float
    documents: int
    chunks: int
    skipped: list[Skipped]
    path: Path
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for people (the CLI prints it, the UI capitalizes it)."""
        return (
            f"indexed {self.documents} documents, {self.chunks} chunks in {self.seconds:.1f}s "
            f"(added {len(self.added)}, changed {len(self.changed)}, "
            f"removed {len(self.removed)}, unchanged {self.unchanged}; "
            f"{self.chunks_embedded} texts embedded, {self.chunks_reused} reused)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "chunks_embedded": self.chunks_embedded,
            "chunks_reused": self.chunks_reused,
            "seconds": round(self.seconds, 3),
            "documents": self.documents,
            "chunks": self.chunks,
            "skipped": [{"source": s.source, "reason": s.reason} for s in self.skipped],
            "index": str(self.path),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


class Clock:
    """Seconds per build stage."""

    def __init__(self) -> None:
        self.t0 = self.mark = time.perf_counter()
        self.timings: dict[str, float] = {}

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - self.mark
        self.mark = now

    def total(self) -> float:
        return time.perf_counter() - self.t0
