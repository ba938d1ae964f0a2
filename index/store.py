"""The index directory: build (incrementally, atomically, under a lock) and load.

Layout of ``index_dir``::

    CURRENT              name of the live build directory (replaced atomically)
    .lock                held while a build runs
    build-<stamp>/       one complete build
        manifest.json
        chunks.jsonl     one chunk per line (offsets, section, sentences)
        chunks.faiss     FAISS IndexFlatIP over chunk vectors
        sentences.faiss  FAISS IndexFlatIP over sentence vectors
        sentence_chunk.npy  row -> chunk row
        vector_keys.json    text keys of the chunk and sentence vectors (embedding cache)
        lexical/         BM25 arrays + vocabulary

A build writes a new ``build-*`` directory beside the live one and then switches
``CURRENT`` with one ``os.replace``; a reader resolves ``CURRENT`` once, so it
never sees a half-written index, and a build killed at any moment leaves the
previous one in place. Unchanged documents keep their chunks, and any text
already embedded by the same model (same key) reuses its vector.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from filelock import FileLock, Timeout

from index.embed import Embedder, text_key
from index.lexical import BM25Index
from index.manifest import FORMAT_VERSION, REBUILD_HINT, BadIndexError, DocEntry, Manifest
from index.tokenize import Tokenizer, TokenizerConfig
from ingest.chunk import ChunkerConfig, chunk_document
from ingest.document import Chunk, Document, Sentence
from ingest.load import Skipped

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
EMBED_RECIPE = "{prompt}{title} | {section}\n{text}"

# progress(stage, done, total)
Progress = Callable[[str, int, int], None]


class BuildLocked(RuntimeError):
    """Another build holds the index lock."""


def chunk_embed_text(chunk: Chunk) -> str:
    """What is embedded for a chunk: its title and section, then its text."""
    return f"{chunk.header()}\n{chunk.text}"


def sentence_embed_text(chunk: Chunk, sentence: Sentence) -> str:
    return f"{chunk.header()}: {sentence.text}"


def lexical_text(chunk: Chunk) -> str:
    return f"{chunk.header()}\n{chunk.text}"


@dataclass
class KnowledgeIndex:
    """A loaded, read-only index."""

    path: Path
    manifest: Manifest
    chunks: list[Chunk]
    chunk_vectors: faiss.Index
    sentence_vectors: faiss.Index
    sentence_chunk: np.ndarray
    bm25: BM25Index
    tokenizer: Tokenizer
    doc_langs: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.doc_langs = np.asarray([c.lang for c in self.chunks])


@dataclass(frozen=True)
class BuildReport:
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
        }


# ---------------------------------------------------------------- locating


def current_build(index_dir: Path) -> Path | None:
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    build = index_dir / name
    return build if name and build.is_dir() else None


def index_exists(index_dir: Path) -> bool:
    return current_build(index_dir) is not None


# ---------------------------------------------------------------- reading


def _chunk_to_json(c: Chunk) -> str:
    return json.dumps(
        {
            "chunk_id": c.chunk_id,
            "doc_id": c.doc_id,
            "source": c.source,
            "title": c.title,
            "section": c.section,
            "lang": c.lang,
            "start": c.start,
            "end": c.end,
            "text": c.text,
            "raw": c.raw,
            "sentences": [[s.start, s.end, s.text] for s in c.sentences],
        },
        ensure_ascii=False,
    )


def _chunk_from_json(line: str) -> Chunk:
    d = json.loads(line)
    sentences = tuple(Sentence(int(s), int(e), t) for s, e, t in d.pop("sentences"))
    return Chunk(**d, sentences=sentences)


def load_index(index_dir: Path, model_id: str | None = None) -> KnowledgeIndex:
    """Open the live build; ``model_id`` (if given) must match the one it was built with."""
    build = current_build(index_dir)
    if build is None:
        raise BadIndexError(f"no index at {index_dir}: run `kb index` first")
    manifest = Manifest.read(build)
    if model_id is not None:
        manifest.check_model(model_id)
    tok_cfg = TokenizerConfig.from_dict(manifest.tokenizer)
    try:
        chunks = [
            _chunk_from_json(line)
            for line in (build / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        chunk_vectors = faiss.read_index(str(build / "chunks.faiss"))
        sentence_vectors = faiss.read_index(str(build / "sentences.faiss"))
        sentence_chunk = np.load(build / "sentence_chunk.npy", allow_pickle=False)
        bm25 = BM25Index.load(build / "lexical")
    except (OSError, ValueError, KeyError, RuntimeError, json.JSONDecodeError) as exc:
        raise BadIndexError(f"index at {build} is damaged ({exc}): {REBUILD_HINT}") from None
    if not (
        len(chunks) == chunk_vectors.ntotal == bm25.n_docs == manifest.counts.get("chunks")
        and sentence_vectors.ntotal == len(sentence_chunk)
    ):
        raise BadIndexError(f"index at {build} is inconsistent (counts differ): {REBUILD_HINT}")
    return KnowledgeIndex(
        path=build,
        manifest=manifest,
        chunks=chunks,
        chunk_vectors=chunk_vectors,
        sentence_vectors=sentence_vectors,
        sentence_chunk=sentence_chunk,
        bm25=bm25,
        tokenizer=Tokenizer(tok_cfg),
    )


def _previous_vectors(build: Path | None, model_id: str) -> dict[str, np.ndarray]:
    """Embedding cache from the live build: text key -> vector (same model only)."""
    if build is None:
        return {}
    try:
        manifest = Manifest.read(build)
        if manifest.model.get("id") != model_id:
            return {}
        keys = json.loads((build / "vector_keys.json").read_text(encoding="utf-8"))
        out: dict[str, np.ndarray] = {}
        for name, index_file in (("chunks", "chunks.faiss"), ("sentences", "sentences.faiss")):
            idx = faiss.read_index(str(build / index_file))
            vecs = idx.reconstruct_n(0, idx.ntotal) if idx.ntotal else np.zeros((0, idx.d))
            out.update(zip(keys[name], vecs, strict=True))
        return out
    except (BadIndexError, OSError, ValueError, KeyError, RuntimeError) as exc:
        log.warning("previous index not reusable (%s); embedding everything", exc)
        return {}


def _previous_chunks(build: Path | None) -> tuple[Manifest | None, dict[str, list[Chunk]]]:
    if build is None:
        return None, {}
    try:
        manifest = Manifest.read(build)
        by_doc: dict[str, list[Chunk]] = {}
        for line in (build / "chunks.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                c = _chunk_from_json(line)
                by_doc.setdefault(c.doc_id, []).append(c)
        return manifest, by_doc
    except (BadIndexError, OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("previous index unreadable (%s); building from scratch", exc)
        return None, {}


# ---------------------------------------------------------------- building


def _embed(
    embedder: Embedder,
    texts: list[str],
    cache: dict[str, np.ndarray],
    progress: Progress | None,
    stage: str,
) -> tuple[np.ndarray, list[str], int]:
    """Vectors for ``texts``, embedding only the ones not in ``cache``."""
    keys = [text_key(embedder.model_id, t) for t in texts]
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in cache}.items())
    # longest first keeps batches of similar length (less padding)
    missing.sort(key=lambda kv: len(kv[1]), reverse=True)
    done = 0
    total = len(missing)
    if progress:
        progress(stage, 0, total)
    if missing:

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(stage, done, total)

        vecs = embedder.encode_passages([t for _, t in missing], progress=tick)
        for (k, _), v in zip(missing, vecs, strict=True):
            cache[k] = v
    dim = embedder.dim
    matrix = (
        np.vstack([cache[k] for k in keys]).astype(np.float32)
        if keys
        else np.zeros((0, dim), dtype=np.float32)
    )
    return matrix, keys, total


def _flat_index(vectors: np.ndarray, dim: int) -> faiss.Index:
    idx = faiss.IndexFlatIP(dim)
    if len(vectors):
        idx.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return idx


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
) -> BuildReport:
    """Build (or update) the index for ``documents`` and switch to it atomically."""
    t0 = time.perf_counter()
    tokenizer_config = tokenizer_config or TokenizerConfig()
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise BuildLocked(
            f"another `kb index` is building {index_dir} (lock {index_dir / '.lock'} is held); "
            "wait for it to finish"
        ) from None
    try:
        return _build_locked(
            documents, index_dir, embedder, chunker, tokenizer_config, skipped, rebuild, progress,
            keep_builds, t0,
        )
    finally:
        lock.release()


def _build_locked(
    documents: Sequence[Document],
    index_dir: Path,
    embedder: Embedder,
    chunker: ChunkerConfig,
    tokenizer_config: TokenizerConfig,
    skipped: Sequence[Skipped],
    rebuild: bool,
    progress: Progress | None,
    keep_builds: int,
    t0: float,
) -> BuildReport:
    live = None if rebuild else current_build(index_dir)
    old_manifest, old_chunks = _previous_chunks(live)
    same_chunking = (
        old_manifest is not None
        and old_manifest.chunker == chunker.describe()
        and old_manifest.model.get("id") == embedder.model_id
    )
    old_docs = old_manifest.documents if old_manifest else {}
    cache = _previous_vectors(live, embedder.model_id)

    now = datetime.now(UTC).isoformat(timespec="seconds")
    added, changed, unchanged = [], [], 0
    chunks: list[Chunk] = []
    entries: dict[str, DocEntry] = {}
    for i, doc in enumerate(sorted(documents, key=lambda d: d.source)):
        prev = old_docs.get(doc.doc_id)
        if prev is None:
            added.append(doc.source)
        elif prev.content_hash != doc.content_hash:
            changed.append(doc.source)
        else:
            unchanged += 1
        if (
            same_chunking
            and prev is not None
            and prev.content_hash == doc.content_hash
            and doc.doc_id in old_chunks
        ):
            doc_chunks = old_chunks[doc.doc_id]
            indexed_at = prev.indexed_at
        else:
            doc_chunks = chunk_document(doc, chunker)
            indexed_at = now
        chunks.extend(doc_chunks)
        entries[doc.doc_id] = DocEntry(
            source=doc.source,
            title=doc.title,
            lang=doc.lang,
            encoding=doc.encoding,
            content_hash=doc.content_hash,
            chunk_ids=[c.chunk_id for c in doc_chunks],
            indexed_at=indexed_at,
        )
        if progress:
            progress("chunk", i + 1, len(documents))
    removed = sorted(e.source for k, e in old_docs.items() if k not in entries)

    chunk_texts = [chunk_embed_text(c) for c in chunks]
    sent_texts: list[str] = []
    sent_rows: list[int] = []
    for row, c in enumerate(chunks):
        for s in c.sentences:
            sent_texts.append(sentence_embed_text(c, s))
            sent_rows.append(row)
    n_chunk_texts = len(set(chunk_texts) | set(sent_texts))
    chunk_vecs, chunk_keys, new_c = _embed(embedder, chunk_texts, cache, progress, "embed chunks")
    sent_vecs, sent_keys, new_s = _embed(embedder, sent_texts, cache, progress, "embed sentences")
    embedded = new_c + new_s

    tokenizer = Tokenizer(tokenizer_config)
    bm25 = BM25Index.build([tokenizer(lexical_text(c)) for c in chunks])

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    tmp = index_dir / f".tmp-build-{stamp}"
    final = index_dir / f"build-{stamp}"
    tmp.mkdir()
    try:
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c in chunks:
                f.write(_chunk_to_json(c) + "\n")
        faiss.write_index(_flat_index(chunk_vecs, embedder.dim), str(tmp / "chunks.faiss"))
        faiss.write_index(_flat_index(sent_vecs, embedder.dim), str(tmp / "sentences.faiss"))
        np.save(tmp / "sentence_chunk.npy", np.asarray(sent_rows, dtype=np.int32), allow_pickle=False)
        (tmp / "vector_keys.json").write_text(
            json.dumps({"chunks": chunk_keys, "sentences": sent_keys}), encoding="utf-8"
        )
        bm25.save(tmp / "lexical")
        seconds = time.perf_counter() - t0
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            created_at=now,
            model={
                "id": embedder.model_id,
                "dim": embedder.dim,
                "prompts": embedder.prompts,
                "runtime": getattr(embedder, "runtime", embedder.model_id),
            },
            chunker=chunker.describe(),
            tokenizer={**tokenizer_config.to_dict(), "fingerprint": tokenizer_config.fingerprint()},
            embed_recipe=EMBED_RECIPE,
            documents=entries,
            counts={
                "documents": len(entries),
                "chunks": len(chunks),
                "sentences": len(sent_texts),
                "vocabulary": len(bm25.vocab),
            },
            skipped=[{"source": s.source, "reason": s.reason} for s in skipped],
            build={"seconds": round(seconds, 3), "texts_embedded": embedded, "distinct_texts": n_chunk_texts},
        )
        manifest.write(tmp)
        _fsync_tree(tmp)
        os.rename(tmp, final)
        _switch(index_dir, final.name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _collect_garbage(index_dir, keep=final.name, keep_builds=keep_builds)
    total_texts = len(chunk_texts) + len(sent_texts)
    return BuildReport(
        added=added,
        changed=changed,
        removed=removed,
        unchanged=unchanged,
        chunks_embedded=embedded,
        chunks_reused=total_texts - embedded,
        seconds=time.perf_counter() - t0,
        documents=len(entries),
        chunks=len(chunks),
        skipped=list(skipped),
        path=final,
    )


def _fsync_tree(directory: Path) -> None:
    for p in directory.rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())


def _switch(index_dir: Path, build_name: str) -> None:
    """Point CURRENT at ``build_name`` with one atomic rename."""
    tmp = index_dir / f".{CURRENT}.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(build_name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / CURRENT)
    fd = os.open(index_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _collect_garbage(index_dir: Path, keep: str, keep_builds: int) -> None:
    """Remove older builds (keeping ``keep_builds`` previous ones for open readers)
    and temporary directories left by killed builds."""
    builds = sorted(p for p in index_dir.glob("build-*") if p.is_dir() and p.name != keep)
    for p in builds[: max(0, len(builds) - keep_builds)]:
        shutil.rmtree(p, ignore_errors=True)
    for p in index_dir.glob(".tmp-build-*"):
        shutil.rmtree(p, ignore_errors=True)
