"""Writing a build folder: the chunks, every vector field's FAISS file, the
derived query data, the vector and token caches' keys, BM25, and last the
manifest (the folder layout is in index/layout.py)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from kb.index import ann
from kb.index.chunkfile import write_chunks
from kb.index.derived import build_derived
from kb.index.fields import BY_NAME, CHUNKS, SENTENCES
from kb.index.lexical import BM25Index
from kb.index.load import SENTENCE_CHUNK
from kb.index.manifest import FORMAT_VERSION, Manifest
from kb.index.report import BuildConfig, Clock
from kb.index.reuse import Diff, ingest_fingerprint, write_tokens
from kb.index.tokenize import Tokenizer
from kb.index.vcache import VECTOR_KEYS, model_info
from kb.ingest.load import Skipped
from kb.models.base import Embedder


@dataclass(frozen=True)
class Embedded:
    vectors: dict[str, tuple[np.ndarray, list[str]]]  # field name -> (matrix, keys)
    records: list[dict[str, Any]]  # the manifest's fields
    embedded: int
    distinct: int


@dataclass(frozen=True)
class Lexical:
    tokenizer: Tokenizer
    bm25: BM25Index
    keys: list[str]  # token cache keys, one per chunk
    tokens: list[list[str]]


def write_build(
    tmp: Path,
    diff: Diff,
    embedded: Embedded,
    lexical: Lexical,
    config: BuildConfig,
    embedder: Embedder,
    now: str,
    skipped: Sequence[Skipped],
    clock: Clock,
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
