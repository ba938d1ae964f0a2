"""chunks.jsonl: one chunk per line (offsets, section, sentences, blocks)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kb.ingest.document import Block, Chunk, Sentence

CHUNKS = "chunks.jsonl"


def write_chunks(build: Path, chunks: list[Chunk]) -> None:
    with open(build / CHUNKS, "w", encoding="utf-8") as f:
        f.writelines(chunk_to_json(c) + "\n" for c in chunks)


def read_chunks(build: Path) -> list[Chunk]:
    """Every chunk of a build, in row order (raises OSError/ValueError/KeyError/TypeError)."""
    return [
        chunk_from_json(line)
        for line in (build / CHUNKS).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


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
