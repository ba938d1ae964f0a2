"""Gold evidence in a chunk: an evidence string it holds (whitespace ignored, as
cleaning and line wrapping move it), or the document an evidence entry names."""

from __future__ import annotations

import re
from collections.abc import Sequence

from kb.ingest.document import Chunk

_SPACE = re.compile(r"\s+")


def _squash(text: str) -> str:
    return _SPACE.sub("", text)


def contains_evidence(chunk: Chunk, evidence: Sequence[str]) -> bool:
    """True when the chunk's original or cleaned text holds any evidence string
    (exactly, or ignoring whitespace, which cleaning and line wrapping move)."""
    if not evidence:
        return False
    if any(e and (e in chunk.raw or e in chunk.text) for e in evidence):
        return True
    raw, text = _squash(chunk.raw), _squash(chunk.text)
    return any((s := _squash(e)) and (s in raw or s in text) for e in evidence)


def names_document(chunk: Chunk, name: str) -> bool:
    """``name`` is the chunk's document: its id, its corpus path or file name."""
    return name in (chunk.doc_id, chunk.source, chunk.source.rsplit("/", 1)[-1])
