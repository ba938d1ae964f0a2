"""What a build reuses from the previous one: the document diff (unchanged
documents keep their chunks), the ingest-code fingerprint that guards it, and
the token cache (BM25 tokens by text)."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kb.errors import BadIndexError
from kb.index.chunkfile import CHUNKS as CHUNKS_FILE
from kb.index.chunkfile import chunk_from_json
from kb.index.manifest import DocEntry, Manifest
from kb.index.tokenize import Tokenizer
from kb.ingest.chunk import ChunkerConfig, chunk_document
from kb.ingest.document import Chunk, Document

log = logging.getLogger(__name__)

TOKENS = "lexical_tokens.json"


@dataclass(frozen=True)
class Previous:
    """The build a new one starts from (all empty: none, or ``rebuild``)."""

    build: Path | None = None
    manifest: Manifest | None = None
    chunks: dict[str, list[Chunk]] = field(default_factory=dict)  # by document id


@dataclass(frozen=True)
class Diff:
    """Documents compared with the previous build, and the new build's chunks."""

    chunks: list[Chunk]
    entries: dict[str, DocEntry]
    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: int


def read_previous(build: Path | None) -> Previous:
    """The previous build's manifest and chunks by document (each None/empty when
    unreadable: a damaged chunks file still leaves its vectors reusable)."""
    if build is None:
        return Previous()
    try:
        manifest = Manifest.read(build)
    except BadIndexError as exc:
        log.warning("previous index unreadable (%s); building from scratch", exc)
        return Previous(build)
    try:
        by_doc: dict[str, list[Chunk]] = {}
        for line in (build / CHUNKS_FILE).read_text(encoding="utf-8").splitlines():
            if line.strip():
                c = chunk_from_json(line)
                by_doc.setdefault(c.doc_id, []).append(c)
        return Previous(build, manifest, by_doc)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("previous chunks unreadable (%s); chunking every document again", exc)
        return Previous(build, manifest)


@functools.cache
def ingest_fingerprint() -> str:
    """Hash of the code that turns files into chunks: chunks of an unchanged file are
    reused only if this code is unchanged too (their vectors are reused either way
    when the texts come out the same). Computed once per process, so a long-running
    watcher keeps the fingerprint of the code it runs, not of later edits on disk."""
    import kb.ingest
    from kb import scripts

    h = hashlib.sha256()
    files = [*sorted(Path(kb.ingest.__file__).parent.glob("*.py")), Path(scripts.__file__)]
    for file in files:  # every module of the ingest stage, and the script table it uses
        h.update(file.name.encode())
        h.update(file.read_bytes())
    return h.hexdigest()[:16]


def diff_documents(
    documents: Sequence[Document],
    previous: Previous,
    chunker: ChunkerConfig,
    now: str,
    tick: Callable[[int, int], None] | None = None,
) -> Diff:
    """Chunk the documents, reusing the chunks of those unchanged since the
    previous build (same id, source and content hash, same chunker and ingest code)."""
    old = previous.manifest
    same_chunking = (
        old is not None
        and old.chunker == chunker.describe()
        and old.build.get("ingest") == ingest_fingerprint()
    )
    old_docs = old.documents if old else {}
    added: list[str] = []
    changed: list[str] = []
    unchanged = 0
    chunks: list[Chunk] = []
    entries: dict[str, DocEntry] = {}
    ordered = sorted(documents, key=lambda d: d.source)
    for i, doc in enumerate(ordered):
        if doc.doc_id in entries:
            raise ValueError(
                f"two documents have the id {doc.doc_id!r}: {entries[doc.doc_id].source} "
                f"and {doc.source}"
            )
        prev = old_docs.get(doc.doc_id)
        same = (
            prev is not None and prev.content_hash == doc.content_hash and prev.source == doc.source
        )
        if prev is None:
            added.append(doc.source)
        elif not same:
            changed.append(doc.source)
        else:
            unchanged += 1
        reusable = previous.chunks.get(doc.doc_id)
        if (
            same
            and same_chunking
            and prev is not None
            and reusable is not None
            and [c.chunk_id for c in reusable] == prev.chunk_ids  # all of them, none torn off
        ):
            doc_chunks = reusable
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
        if tick:
            tick(i + 1, len(ordered))
    removed = sorted(e.source for k, e in old_docs.items() if k not in entries)
    return Diff(chunks, entries, added, changed, removed, unchanged)


def previous_tokens(build: Path | None, fingerprint: str) -> dict[str, list[str]]:
    """Token cache: lexical-text key -> tokens, from a build made with the same
    tokenizer (tokenizing every chunk again is most of an incremental build's
    BM25 time)."""
    if build is None:
        return {}
    try:
        with open(build / TOKENS, encoding="utf-8") as f:
            saved = json.load(f)
        if saved.get("tokenizer") != fingerprint:
            return {}
        return dict(zip(saved["keys"], saved["tokens"], strict=True))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.info("previous tokens not reusable (%s)", exc)
        return {}


def tokenize_chunks(
    texts: Sequence[str], tokenizer: Tokenizer, cache: dict[str, list[str]]
) -> tuple[list[str], list[list[str]]]:
    """(keys, tokens) for each lexical text, from the cache where it has them."""
    keys: list[str] = []
    lists: list[list[str]] = []
    for text in texts:
        key = hashlib.sha256(text.encode()).hexdigest()[:32]
        tokens = cache.get(key)
        keys.append(key)
        lists.append(tokens if tokens is not None else tokenizer(text))
    return keys, lists


def write_tokens(build: Path, fingerprint: str, keys: list[str], lists: list[list[str]]) -> None:
    with open(build / TOKENS, "w", encoding="utf-8") as f:
        json.dump(
            {"tokenizer": fingerprint, "keys": keys, "tokens": lists},
            f,
            ensure_ascii=False,
            separators=(",", ":"),
        )
