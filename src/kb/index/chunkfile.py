"""chunks.jsonl: one chunk per line (offsets, section, sentences, blocks)."""

from __future__ import annotations

import json
import mmap
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from kb.ingest.document import Block, Chunk, Sentence

CHUNKS = "chunks.jsonl"


def write_chunks(build: Path, chunks: list[Chunk]) -> None:
    with open(build / CHUNKS, "w", encoding="utf-8") as f:
        f.writelines(chunk_to_json(c) + "\n" for c in chunks)


class LazyChunks(Sequence[Chunk]):
    """The chunks of a build, in row order, parsed when first asked for: opening an
    index maps chunks.jsonl and finds its line starts (one vectorized pass over the
    bytes), so the first question does not wait for every chunk of a large corpus
    to be parsed (5,700 chunks took 0.7 s of the first search; a query reads ~10)."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self._buf: mmap.mmap | bytes = (
                mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
            )
        data = np.frombuffer(self._buf, dtype=np.uint8) if size else np.zeros(0, np.uint8)
        ends = np.flatnonzero(data == 10)
        if size and (not len(ends) or ends[-1] != size - 1):
            ends = np.append(ends, size)  # a last line without its newline
        starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64)
        keep = ends > starts  # blank lines are no chunks
        self._starts, self._ends = starts[keep], ends[keep].astype(np.int64)
        self._cache: dict[int, Chunk] = {}

    def __len__(self) -> int:
        return len(self._starts)

    @overload
    def __getitem__(self, i: int) -> Chunk: ...

    @overload
    def __getitem__(self, i: slice) -> list[Chunk]: ...

    def __getitem__(self, i: int | slice) -> Chunk | list[Chunk]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        chunk = self._cache.get(i)
        if chunk is None:
            line = bytes(self._buf[int(self._starts[i]) : int(self._ends[i])])
            chunk = self._cache[i] = chunk_from_json(line.decode("utf-8"))
        return chunk


def read_chunks(build: Path) -> LazyChunks:
    """Every chunk of a build, in row order, each parsed on first use (raises
    OSError; a damaged line raises ValueError/KeyError/TypeError when read)."""
    chunks = LazyChunks(build / CHUNKS)
    if len(chunks):
        chunks[0]  # a file that is no chunk file fails now, not at a question
    return chunks


def chunk_to_json(c: Chunk) -> str:
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
            "sentences": [_sentence_to_json(s) for s in c.sentences],
            "blocks": [_block_to_json(b) for b in c.blocks],
        },
        ensure_ascii=False,
    )


def chunk_from_json(line: str) -> Chunk:
    d = json.loads(line)
    return Chunk(
        chunk_id=d["chunk_id"],
        doc_id=d["doc_id"],
        source=d["source"],
        title=d["title"],
        section=d["section"],
        lang=d["lang"],
        start=int(d["start"]),
        end=int(d["end"]),
        text=d["text"],
        raw=d["raw"],
        sentences=tuple(_sentence_from_json(s) for s in d["sentences"]),
        blocks=tuple(_block_from_json(b) for b in d.get("blocks", [])),
    )


def _sentence_to_json(s: Sentence) -> list[object]:
    if s.instruction:  # a sixth element, 1: an instruction, never evidence
        return [s.start, s.end, s.text, s.role, s.block, 1]
    return [s.start, s.end, s.text, s.role, s.block] if s.role else [s.start, s.end, s.text]


def _sentence_from_json(v: list[Any]) -> Sentence:
    if len(v) >= 5:
        return Sentence(
            int(v[0]), int(v[1]), str(v[2]), str(v[3]), int(v[4]), len(v) > 5 and bool(v[5])
        )
    return Sentence(int(v[0]), int(v[1]), str(v[2]))


def _block_to_json(b: Block) -> dict[str, object]:
    return {
        "kind": b.kind,
        "section": b.section,
        "start": b.start,
        "end": b.end,
        "raw": b.raw,
        "lead": _sentence_to_json(b.lead) if b.lead is not None else None,
        "header": _sentence_to_json(b.header) if b.header is not None else None,
        "items": [_sentence_to_json(s) for s in b.items],
    }


def _block_from_json(d: dict[str, Any]) -> Block:
    return Block(
        kind=str(d["kind"]),
        section=str(d["section"]),
        start=int(d["start"]),
        end=int(d["end"]),
        raw=str(d["raw"]),
        lead=_sentence_from_json(d["lead"]) if d.get("lead") else None,
        header=_sentence_from_json(d["header"]) if d.get("header") else None,
        items=tuple(_sentence_from_json(s) for s in d["items"]),
    )
