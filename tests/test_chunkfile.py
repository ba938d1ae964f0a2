"""chunks.jsonl read lazily: the same chunks as written, in row order, each parsed
when first asked for; a damaged file fails when the index opens."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.index.chunkfile import CHUNKS, LazyChunks, read_chunks, write_chunks
from kb.ingest.document import Chunk, Sentence


def _chunk(i: int, text: str) -> Chunk:
    return Chunk(f"d:{i}", "d", "d.md", "D", "S", "ko", i * 100, i * 100 + len(text), text,
                 text, (Sentence(i * 100, i * 100 + len(text), text),), ())  # fmt: skip


def test_lazy_chunks_equal_the_written_ones(tmp_path: Path) -> None:
    chunks = [
        _chunk(i, t) for i, t in enumerate(["클로드 3.5 하이쿠", "克劳德 Haiku 4.5", "plain"])
    ]
    write_chunks(tmp_path, chunks)
    lazy = read_chunks(tmp_path)
    assert len(lazy) == 3
    assert list(lazy) == chunks
    assert lazy[-1] == chunks[2] and lazy[1:] == chunks[1:]
    assert lazy[1] is lazy[1]  # parsed once
    with pytest.raises(IndexError):
        lazy[3]


def test_blank_lines_and_a_missing_last_newline(tmp_path: Path) -> None:
    write_chunks(tmp_path, [_chunk(0, "a"), _chunk(1, "b")])
    path = tmp_path / CHUNKS
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text(lines[0] + "\n\n" + lines[1], encoding="utf-8")  # no final newline
    assert [c.text for c in LazyChunks(path)] == ["a", "b"]
    path.write_text("", encoding="utf-8")
    assert len(LazyChunks(path)) == 0


def test_a_damaged_chunk_file_fails_at_open(tmp_path: Path) -> None:
    (tmp_path / CHUNKS).write_text("not json\n", encoding="utf-8")
    with pytest.raises(ValueError):
        read_chunks(tmp_path)
