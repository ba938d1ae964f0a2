"""Building the index: incremental, atomic, under a lock.

``build_index`` takes the lock and a work folder (index/layout.py), then runs
the steps: read the previous build (index/reuse.py), diff and chunk the
documents, embed every vector field (index/fields.py) through the embedding
cache (index/vcache.py), tokenize for BM25 (token cache), write the folder and
its manifest, and switch ``CURRENT`` to it. Unchanged documents keep their
chunks, and any text already embedded by the same model reuses its vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from kb import threads
from kb.index import ann, layout
from kb.index import chunk_vectors as chunkvec
from kb.index.fields import FIELDS, chunk_embed_text
from kb.index.lexical import BM25Index, BM25Params
from kb.index.report import BuildConfig, BuildReport, Clock
from kb.index.reuse import (
    Diff,
    Previous,
    diff_documents,
    previous_tokens,
    read_previous,
    tokenize_chunks,
)
from kb.index.tokenize import Tokenizer, TokenizerConfig
from kb.index.vcache import (
    EmbedJournal,
    Progress,
    discard_journal,
    embed_groups,
    model_info,
    previous_vectors,
    salvage_vectors,
)
from kb.index.write import Embedded, Lexical, write_build
from kb.ingest.chunk import ChunkerConfig
from kb.ingest.document import Document
from kb.ingest.load import Skipped
from kb.models.base import Embedder
from kb.models.korean import KoreanMorphemes

__all__ = ["BuildConfig", "BuildReport", "Progress", "build_index"]


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
    analyzer: KoreanMorphemes | None = None,
    build_threads: int = 0,
    ann_threshold: int = ann.DEFAULT_THRESHOLD,
    chunk_vectors: str = chunkvec.DEFAULT,
) -> BuildReport:
    """Build (or update) the index for ``documents`` and switch to it atomically.

    ``second`` (optional) embeds the fields of the second encoder (its sentence
    vectors, kb/models/second_encoder.py); its vectors are cached by text the same way.
    ``analyzer``: the Korean morpheme analyzer for BM25's tokenizer (the caller's
    loaded one; None: the tokenizer loads its own).

    Incremental unless ``rebuild``: documents are compared with the previous build
    by id and content hash; unchanged ones keep their chunks, and every text
    already embedded (same model) keeps its vector. Raises BuildLocked at once if
    another build holds the lock.
    """
    clock = Clock()
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
    # torch on every core, FAISS/BLAS on one
    plan = threads.configure("build", config.build_threads)
    set_threads = getattr(second, "set_threads", None)
    if set_threads is not None:  # USE sets its own BLAS threads per call: follow the plan
        set_threads(plan.blas)
    with layout.build_lock(index_dir), layout.work_folder(index_dir) as (tmp, final):
        return _build_locked(
            documents, index_dir, encoders, analyzer, config, skipped, progress, clock, tmp, final
        )


def _build_locked(
    documents: Sequence[Document],
    index_dir: Path,
    encoders: dict[str, Embedder],
    analyzer: KoreanMorphemes | None,
    config: BuildConfig,
    skipped: Sequence[Skipped],
    progress: Progress | None,
    clock: Clock,
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
    lexical = _lexical(diff, previous, Tokenizer(config.tokenizer, analyzer))
    clock.lap("bm25")
    write_build(tmp, diff, embedded, lexical, config, encoders["main"], now, skipped, clock)
    discard_journal(tmp)  # kept until now: a build killed before this point is salvaged
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
    clock: Clock,
) -> Embedded:
    """Embed every field whose encoder this build has, encoder by encoder, through
    the cache. Only the main encoder journals its vectors (the second encoder is
    cheap next to it: re-embedding after a crash is quick); the journal stays in
    the work folder until ``_build_locked`` publishes it."""
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
        try:
            made, count = embed_groups(embedder, plan.groups, cache, progress, journal)
        finally:
            if journal is not None:
                journal.close()  # its files stay until the build is published
        del cache
        embedded += count
        distinct += len(set().union(*(keys for _, keys in made)))
        for f, (matrix, keys) in zip(plan.fields, plan.finish(made), strict=True):
            vectors[f.name] = (matrix, keys)
            records.append(f.record(model_info(embedder), len(keys)))
        clock.lap("embed" if main else f"embed {encoder}")
    return Embedded(vectors, records, embedded, distinct)


def _lexical(diff: Diff, previous: Previous, tokenizer: Tokenizer) -> Lexical:
    """BM25 over the tokens of what the embedder reads (BM25 reads what the
    embedder reads), from the token cache where the previous build (same
    tokenizer) has them."""
    cache = previous_tokens(previous.build, tokenizer.config.fingerprint())
    keys, lists = tokenize_chunks([chunk_embed_text(c) for c in diff.chunks], tokenizer, cache)
    return Lexical(tokenizer, BM25Index.build(lists, BM25Params()), keys, lists)
