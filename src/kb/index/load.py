"""Opening the live build: checks, then a read-only KnowledgeIndex."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from kb.errors import BadIndexError
from kb.index import ann
from kb.index.chunkfile import read_chunks
from kb.index.derived import Derived
from kb.index.fields import BY_NAME, CHUNKS, SECOND_SENTENCES, SENTENCES
from kb.index.layout import current_build, pointer
from kb.index.lexical import BM25Index
from kb.index.manifest import REBUILD_HINT, Manifest
from kb.index.tokenize import Tokenizer, TokenizerConfig
from kb.ingest.document import Chunk
from kb.models.base import Embedder
from kb.models.korean import KoreanMorphemes

SENTENCE_CHUNK = "sentence_chunk.npy"  # sentence row -> chunk row


@dataclass
class KnowledgeIndex:
    """A loaded, read-only index. ``vectors`` holds every vector field the
    manifest lists (index/fields.py), by name."""

    path: Path
    manifest: Manifest
    chunks: Sequence[Chunk]  # parsed on first use (index/chunkfile.py LazyChunks)
    vectors: dict[str, faiss.Index]
    sentence_chunk: np.ndarray
    bm25: BM25Index
    tokenizer: Tokenizer
    derived: Derived | None = None  # build-time query data (index/derived.py)

    @property
    def chunk_vectors(self) -> faiss.Index:
        return self.vectors[CHUNKS.name]

    @property
    def sentence_vectors(self) -> faiss.Index:
        return self.vectors[SENTENCES.name]

    @property
    def second_vectors(self) -> faiss.Index | None:
        """The sentences as the second encoder sees them (None: built without one)."""
        return self.vectors.get(SECOND_SENTENCES.name)


def load_index(
    index_dir: Path, embedder: Embedder | None = None, analyzer: KoreanMorphemes | None = None
) -> KnowledgeIndex:
    """Open the live build; ``embedder`` (if given) must have the weights it was
    built with (Manifest.check_model). ``analyzer``: the Korean morpheme analyzer
    the tokenizer uses (the caller's loaded one; None: the tokenizer loads its
    own when it first meets Korean).

    Raises BadIndexError (one line, saying how to fix it) when there is no index
    or it is damaged or does not match. A build that another process switches
    away from and deletes while we read it is retried on the new live build.
    """
    for attempt in range(3):
        build = current_build(index_dir)
        if build is None:
            name = pointer(index_dir)
            if name is None:
                raise BadIndexError(f"no index at {index_dir}: run `kb index` first")
            raise BadIndexError(
                f"index at {index_dir} is damaged (CURRENT names {name!r}, which does not "
                f"exist): {REBUILD_HINT}"
            )
        try:
            return load_build(build, embedder, analyzer)
        except BadIndexError:
            if attempt < 2 and current_build(index_dir) != build:
                continue  # switched (and maybe collected) under us: read the new one
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def load_build(
    build: Path, embedder: Embedder | None = None, analyzer: KoreanMorphemes | None = None
) -> KnowledgeIndex:
    manifest = Manifest.read(build)
    if embedder is not None:
        manifest.check_model(embedder.model_id, embedder.weights_id)
    records = manifest.field_records()
    try:
        unknown = sorted(set(records) - set(BY_NAME))
        if unknown:
            raise ValueError(f"unknown vector fields {unknown}")
        for required in (CHUNKS, SENTENCES):
            if required.name not in records:
                raise KeyError(f"vector field {required.name!r} missing")
        tok_cfg = TokenizerConfig.from_dict(manifest.tokenizer)
        chunks = read_chunks(build)
        # mmap; the file name is this kb's (fields.py), not the manifest's
        vectors = {name: ann.read(build / BY_NAME[name].file) for name in records}
        sentence_chunk = np.load(build / SENTENCE_CHUNK, allow_pickle=False)
        bm25 = BM25Index.load(build / "lexical")
        derived = Derived.load(build)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise BadIndexError(f"index at {build} is damaged ({reason}): {REBUILD_HINT}") from None
    rows = {"chunk": len(chunks), "sentence": len(sentence_chunk)}
    consistent = (
        len(chunks) == bm25.n_docs == manifest.counts.get("chunks")
        and len(sentence_chunk) == manifest.counts.get("sentences")
        and vectors[CHUNKS.name].d == manifest.model.get("dim")
    )
    for name, index in vectors.items():
        record = records[name]
        consistent = consistent and (
            index.ntotal == rows[BY_NAME[name].rows] == record.get("count")
            and index.d == record.get("embedder", {}).get("dim")
        )
    if not consistent:
        raise BadIndexError(f"index at {build} is inconsistent (counts differ): {REBUILD_HINT}")
    return KnowledgeIndex(
        path=build,
        manifest=manifest,
        chunks=chunks,
        vectors=vectors,
        sentence_chunk=sentence_chunk,
        bm25=bm25,
        tokenizer=Tokenizer(tok_cfg, analyzer),
        derived=derived,
    )
