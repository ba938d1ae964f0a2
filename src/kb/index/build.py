"""Building the index: incremental, atomic, under a lock.

``build_index`` takes the lock and a work folder (index/layout.py), then runs
the steps: read the previous build (index/reuse.py), diff and chunk the
documents, embed every vector field (index/fields.py) through the embedding
cache (index/vcache.py), tokenize for BM25 (token cache), write the folder and
its manifest, and switch ``CURRENT`` to it. Unchanged documents keep their
chunks, and any text already embedded by the same model reuses its vector.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from kb import threads
from kb.index import ann, layout
from kb.index import chunk_vectors as chunkvec
from kb.index.chunkfile import write_chunks
from kb.index.derived import build_derived
from kb.index.fields import BY_NAME, CHUNKS, FIELDS, SENTENCES, chunk_embed_text
from kb.index.lexical import BM25Index, BM25Params
from kb.index.load import SENTENCE_CHUNK
from kb.index.manifest import FORMAT_VERSION, Manifest
from kb.index.reuse import (
    Diff,
    Previous,
    diff_documents,
    ingest_fingerprint,
    previous_tokens,
    read_previous,
    tokenize_chunks,
    write_tokens,
)
from kb.index.tokenize import Tokenizer, TokenizerConfig
from kb.index.vcache import (
    VECTOR_KEYS,
    EmbedJournal,
    Progress,
    embed_groups,
    model_info,
    previous_vectors,
    salvage_vectors,
)
from kb.ingest.chunk import ChunkerConfig
from kb.ingest.document import Document
from kb.ingest.load import Skipped
from kb.models.embed import Embedder

__all__ = ["BuildConfig", "BuildReport", "Progress", "build_index"]


@dataclass(frozen=True)
class BuildConfig:
    chunker: ChunkerConfig
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    rebuild: bool = False  # nothing reused from earlier builds
    keep_builds: int = 1  # older builds kept for readers that still have them open
    build_threads: int = 0  # torch threads while embedding (0: every core)
    ann_threshold: int = ann.DEFAULT_THRESHOLD  # vectors from which HNSW replaces flat
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


class _Clock:
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


@dataclass(frozen=True)
class _Embedded:
    vectors: dict[str, tuple[np.ndarray, list[str]]]  # field name -> (matrix, keys)
    records: list[dict[str, Any]]  # the manifest's fields
    embedded: int
    distinct: int


def build_index(
    documents: Sequence[Document],
    index_dir: Path,
    embedder: Embedder,
    chunker: ChunkerConfig,
    tokenizer_config: TokenizerConfig | None = None,
    skipped: Sequence[Skipped] = (),
    rebuild: bool = False,
    progress: Progress | None = None,
    keep_builds: int = 1,
    second: Embedder | None = None,
    build_threads: int = 0,
    ann_threshold: int = ann.DEFAULT_THRESHOLD,
    chunk_vectors: str = chunkvec.DEFAULT,
) -> BuildReport:
    """Build (or update) the index for ``documents`` and switch to it atomically.

    ``second`` (optional) embeds the fields of the second encoder (its sentence
    vectors, kb/models/second_encoder.py); its vectors are cached by text the same way.

    Incremental unless ``rebuild``: documents are compared with the previous build
    by id and content hash; unchanged ones keep their chunks, and every text
    already embedded (same model) keeps its vector. Raises BuildLocked at once if
    another build holds the lock.
    """
    clock = _Clock()
    config = BuildConfig(
        chunker,
        tokenizer_config or TokenizerConfig(),
        rebuild,
        keep_builds,
        build_threads,
        ann_threshold,
        chunk_vectors,
    )
    encoders = {"main": embedder} | ({"second": second} if second is not None else {})
    plan = threads.configure(
        "build", config.build_threads
    )  # torch on every core, FAISS/BLAS on one
    set_threads = getattr(second, "set_threads", None)
    if set_threads is not None:  # USE sets its own BLAS threads per call: follow the plan
        set_threads(plan.blas)
    with layout.build_lock(index_dir), layout.work_folder(index_dir) as (tmp, final):
        return _build_locked(
            documents, index_dir, encoders, config, skipped, progress, clock, tmp, final
        )


def _build_locked(
    documents: Sequence[Document],
    index_dir: Path,
    encoders: dict[str, Embedder],
    config: BuildConfig,
    skipped: Sequence[Skipped],
    progress: Progress | None,
    clock: _Clock,
    tmp: Path,
    final: Path,
) -> BuildReport:
    previous = read_previous(None if config.rebuild else layout.reuse_source(index_dir))
    clock.lap("read previous")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    tick = (lambda done, total: progress("chunk", done, total)) if progress else None
    diff = diff_documents(documents, previous, config.chunker, now, tick)
    clock.lap("chunk")
    embedded = _embed_fields(diff, encoders, previous, config, index_dir, tmp, progress, clock)
    lexical = _lexical(diff, previous, config.tokenizer)
    clock.lap("bm25")
    _write(tmp, diff, embedded, lexical, config, encoders["main"], now, skipped, clock)
    layout.publish(index_dir, tmp, final)
    clock.lap("fsync+switch")
    layout.collect_garbage(index_dir, keep=final.name, keep_builds=config.keep_builds)
    clock.lap("gc")
    return BuildReport(
        added=diff.added,
        changed=diff.changed,
        removed=diff.removed,
        unchanged=diff.unchanged,
        chunks_embedded=embedded.embedded,
        chunks_reused=embedded.distinct - embedded.embedded,
        seconds=clock.total(),
        documents=len(diff.entries),
        chunks=len(diff.chunks),
        skipped=list(skipped),
        path=final,
        timings=clock.timings,
    )


def _embed_fields(
    diff: Diff,
    encoders: dict[str, Embedder],
    previous: Previous,
    config: BuildConfig,
    index_dir: Path,
    tmp: Path,
    progress: Progress | None,
    clock: _Clock,
) -> _Embedded:
    """Embed every field whose encoder this build has, encoder by encoder, through
    the cache. Only the main encoder journals its vectors (the second encoder is
    cheap next to it: re-embedding after a crash is quick)."""
    recorded = previous.manifest.field_records() if previous.manifest is not None else {}
    vectors: dict[str, tuple[np.ndarray, list[str]]] = {}
    records: list[dict[str, Any]] = []
    embedded = distinct = 0
    for encoder, embedder in encoders.items():
        fields = [f for f in FIELDS if f.encoder == encoder]
        cache = (
            previous_vectors(previous.build, recorded, embedder, fields)
            if previous.build is not None and previous.manifest is not None
            else {}
        )
        main = encoder == "main"
        if main and not config.rebuild:
            cache.update(salvage_vectors(index_dir, embedder))
            clock.lap("read previous")
        journal = EmbedJournal(tmp, embedder) if main else None
        plan = chunkvec.plan(fields, diff.chunks, config.chunk_vectors, embedder.model_id)
        made, count = embed_groups(embedder, plan.groups, cache, progress, journal)
        if journal is not None:
            journal.close()
        del cache
        embedded += count
        distinct += len(set().union(*(keys for _, keys in made)))
        for f, (matrix, keys) in zip(plan.fields, plan.finish(made), strict=True):
            vectors[f.name] = (matrix, keys)
            records.append(f.record(model_info(embedder), len(keys)))
        clock.lap("embed" if main else f"embed {encoder}")
    return _Embedded(vectors, records, embedded, distinct)


@dataclass(frozen=True)
class _Lexical:
    tokenizer: Tokenizer
    bm25: BM25Index
    keys: list[str]  # token cache keys, one per chunk
    tokens: list[list[str]]


def _lexical(diff: Diff, previous: Previous, config: TokenizerConfig) -> _Lexical:
    """BM25 over the tokens of what the embedder reads (BM25 reads what the
    embedder reads), from the token cache where the previous build (same
    tokenizer) has them."""
    tokenizer = Tokenizer(config)
    cache = previous_tokens(previous.build, config.fingerprint())
    keys, lists = tokenize_chunks([chunk_embed_text(c) for c in diff.chunks], tokenizer, cache)
    return _Lexical(tokenizer, BM25Index.build(lists, BM25Params()), keys, lists)


def _write(
    tmp: Path,
    diff: Diff,
    embedded: _Embedded,
    lexical: _Lexical,
    config: BuildConfig,
    embedder: Embedder,
    now: str,
    skipped: Sequence[Skipped],
    clock: _Clock,
) -> None:
    """Everything a build folder holds (the layout in index/layout.py)."""
    chunks = diff.chunks
    write_chunks(tmp, chunks)
    for name, (matrix, _) in embedded.vectors.items():
        file = BY_NAME[name].file
        spec = ann.choose(len(matrix), config.ann_threshold)
        faiss.write_index(ann.build(matrix, matrix.shape[1], spec), str(tmp / file))
    rows = np.asarray([r for r, c in enumerate(chunks) for _ in c.sentences], dtype=np.int32)
    np.save(tmp / SENTENCE_CHUNK, rows, allow_pickle=False)
    chunk_vecs, sent_vecs = embedded.vectors[CHUNKS.name][0], embedded.vectors[SENTENCES.name][0]
    derived_info = build_derived(tmp, chunks, lexical.tokenizer, chunk_vecs, sent_vecs, rows)
    clock.lap("derived")
    keys = {name: k for name, (_, k) in embedded.vectors.items()}
    (tmp / VECTOR_KEYS).write_text(json.dumps(keys), encoding="utf-8")
    bm25 = lexical.bm25
    bm25.save(tmp / "lexical")
    fingerprint = config.tokenizer.fingerprint()
    write_tokens(tmp, fingerprint, lexical.keys, lexical.tokens)
    n_sentences = len(rows)
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        created_at=now,
        model={**model_info(embedder), "prompts": embedder.prompts},
        chunker=config.chunker.describe(),
        tokenizer={
            **config.tokenizer.to_dict(),
            "fingerprint": fingerprint,
            "bm25": dataclasses.asdict(bm25.params),
        },
        documents=diff.entries,
        counts={
            "documents": len(diff.entries),
            "chunks": len(chunks),
            "sentences": n_sentences,
            "vocabulary": len(bm25.vocab),
        },
        fields=embedded.records,
        skipped=[{"source": s.source, "reason": s.reason} for s in skipped],
        build={
            "seconds": round(clock.total(), 3),
            "texts_embedded": embedded.embedded,
            "distinct_texts": embedded.distinct,
            "ingest": ingest_fingerprint(),
            "ann": {  # the vector index kinds (index/ann.py)
                "chunks": ann.choose(len(chunks), config.ann_threshold).to_dict(),
                "sentences": ann.choose(n_sentences, config.ann_threshold).to_dict(),
                "threshold": config.ann_threshold,
            },
            "derived": derived_info,
        },
    )
    manifest.write(tmp)
    clock.lap("write")
