"""Citations: which passage an answer used, where it is, and the quoted sentence."""

from __future__ import annotations

from dataclasses import dataclass

from kb.ingest.document import Chunk, Sentence


@dataclass(frozen=True)
class Citation:
    """``n`` is the marker [n] in the answer. ``start``/``end`` locate the cited
    passage in the source file's text; ``quote`` is the sentence used, found in
    that text at ``quote_start``/``quote_end`` (inside the passage)."""

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

    def to_dict(self) -> dict[str, object]:
        return {
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


def make_citation(n: int, chunk: Chunk, sentence: Sentence) -> Citation:
    """Cite ``chunk``, quoting ``sentence`` exactly as the source file has it
    (cut from the passage, so the quote is always inside the cited span)."""
    rel_start = sentence.start - chunk.start
    rel_end = sentence.end - chunk.start
    quote = chunk.raw[rel_start:rel_end]
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
        quote=quote,
        quote_start=sentence.start,
        quote_end=sentence.end,
        passage=chunk.raw,
    )
