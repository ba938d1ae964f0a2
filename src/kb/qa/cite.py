"""Citations: which passage an answer used, where it is, and the quoted text.

A citation quotes one sentence of a retrieved passage, or a whole list (its lead-in
and items) when the answer is the list. ``quote_start``/``quote_end`` locate the
quote in the source file; ``quote`` is the file's text there, except where that text
holds markup (a Markdown or HTML sentence with ``<b>`` or a hidden ``<span>`` inside):
then it is what a reader sees of it, so no markup and no hidden text ever reaches a
quote. ``display`` is the passage as a reader sees it (an HTML article's words
without its markup) and ``display_quote`` the quote's span inside it, for the UI.
A passage holding text addressed to AI assistants carries a ``warning``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.ingest.document import Block, Chunk, Sentence

INSTRUCTION_WARNING = (
    "this passage contains text addressed to AI assistants; kb never treats it as a fact"
)
_SPACE = re.compile(r"\s+")


def visible_quote(raw: str, visible: str) -> str:
    """The file's text when it reads as shown (no markup in it), else the shown text."""
    return raw if _SPACE.sub("", raw) == _SPACE.sub("", visible) else visible


def quote_matches(raw: str, quote: str) -> bool:
    """True when ``quote`` is ``raw`` or what a reader sees of it: ``raw`` minus markup
    and hidden text, so every visible character of the quote appears in order in it."""
    if raw == quote:
        return True
    rest = iter(_SPACE.sub("", raw))
    return all(ch in rest for ch in _SPACE.sub("", quote))


def _warning(sentences: tuple[Sentence, ...] | list[Sentence]) -> str:
    return INSTRUCTION_WARNING if any(s.instruction for s in sentences) else ""


@dataclass(frozen=True)
class Citation:
    """``n`` is the marker [n] in the answer. ``start``/``end`` locate the cited
    passage in the source file's text; ``quote`` is the text used, found in that
    text at ``quote_start``/``quote_end`` (inside the passage)."""

    n: int
    chunk_id: str
    doc_id: str
    source: str
    title: str
    section: str
    lang: str
    start: int
    end: int
    quote: str
    quote_start: int
    quote_end: int
    passage: str
    display: str = ""
    display_quote: tuple[int, int] = (0, 0)
    warning: str = ""  # e.g. the passage holds an instruction to AI assistants

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "n": self.n,
            "doc_id": self.doc_id,
            "source": self.source,
            "title": self.title,
            "section": self.section,
            "lang": self.lang,
            "start": self.start,
            "end": self.end,
            "quote": self.quote,
            "quote_start": self.quote_start,
            "quote_end": self.quote_end,
        }
        if self.warning:
            out["warning"] = self.warning
        return out


def locate(display: str, sentences: list[Sentence], first: int, last: int) -> tuple[int, int]:
    """Span of sentences ``first..last`` in ``display`` (the cleaned text they were
    cut from), found in order so a repeated sentence maps to the right place."""
    pos = 0
    start = end = 0
    for i, s in enumerate(sentences[: last + 1]):
        at = display.find(s.text, pos)
        if at < 0:
            return (0, 0)
        if i == first:
            start = at
        end = at + len(s.text)
        pos = end
    return (start, end)


def make_citation(n: int, chunk: Chunk, sentence: Sentence) -> Citation:
    """Cite ``chunk``, quoting ``sentence`` exactly as the source file has it
    (cut from the passage, so the quote is always inside the cited span)."""
    rel_start = sentence.start - chunk.start
    rel_end = sentence.end - chunk.start
    sentences = list(chunk.sentences)
    i = sentences.index(sentence) if sentence in sentences else -1
    shown = locate(chunk.text, sentences, i, i) if i >= 0 else (0, 0)
    return Citation(
        n=n,
        chunk_id=chunk.chunk_id,
        doc_id=chunk.doc_id,
        source=chunk.source,
        title=chunk.title,
        section=chunk.section,
        lang=chunk.lang,
        start=chunk.start,
        end=chunk.end,
        quote=visible_quote(chunk.raw[rel_start:rel_end], sentence.text),
        quote_start=sentence.start,
        quote_end=sentence.end,
        passage=chunk.raw,
        display=chunk.text,
        display_quote=shown,
        warning=_warning(chunk.sentences),
    )


def _position(spans: list[tuple[int, int]], start: int, end: int, first: bool) -> int:
    """The sentence holding the first (or last) character of ``start..end``."""
    point = start if first else end - 1
    return next((i for i, (s, e) in enumerate(spans) if s <= point < e), -1)


def make_block_citation(n: int, chunk: Chunk, block: Block) -> Citation:
    """Cite a list: the quote runs from its lead-in to its last item. The passage is
    the chunk when the list lies inside it, else the list itself."""
    lines = ([block.lead] if block.lead is not None else []) + list(block.items)
    if chunk.start <= block.start and block.end <= chunk.end:
        sentences = list(chunk.sentences)
        spans = [(x.start, x.end) for x in sentences]
        first = _position(spans, lines[0].start, lines[0].end, first=True)
        last = _position(spans, lines[-1].start, lines[-1].end, first=False)
        shown = locate(chunk.text, sentences, first, last) if 0 <= first <= last else (0, 0)
        return Citation(
            n=n,
            chunk_id=chunk.chunk_id,
            doc_id=chunk.doc_id,
            source=chunk.source,
            title=chunk.title,
            section=chunk.section,
            lang=chunk.lang,
            start=chunk.start,
            end=chunk.end,
            quote=visible_quote(
                chunk.raw[block.start - chunk.start : block.end - chunk.start],
                "\n".join(s.text for s in lines),
            ),
            quote_start=block.start,
            quote_end=block.end,
            passage=chunk.raw,
            display=chunk.text,
            display_quote=shown,
            warning=_warning(chunk.sentences),
        )
    display = "\n".join(s.text for s in lines)
    return Citation(
        n=n,
        chunk_id=chunk.chunk_id,
        doc_id=chunk.doc_id,
        source=chunk.source,
        title=chunk.title,
        section=block.section,
        lang=chunk.lang,
        start=block.start,
        end=block.end,
        quote=visible_quote(block.raw, display),
        quote_start=block.start,
        quote_end=block.end,
        passage=block.raw,
        display=display,
        display_quote=(0, len(display)),
        warning=_warning(lines),
    )
