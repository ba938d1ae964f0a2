"""Typed values passed between the ingest stage and the rest of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    """A heading and the span of clean text it governs."""

    title: str
    start: int  # clean-text offsets
    end: int


@dataclass(frozen=True)
class Document:
    """One article. ``text`` is the file decoded exactly (no newline translation);
    ``clean_text`` is what gets indexed; ``clean_to_orig[i]`` / ``clean_to_orig_end[i]``
    give the span of ``text`` that produced clean character ``i``."""

    doc_id: str
    source: str  # path relative to the corpus folder, with forward slashes
    title: str
    lang: str  # "ko" | "zh" | "en" | ...
    encoding: str
    text: str
    clean_text: str
    clean_to_orig: tuple[int, ...] = field(repr=False)
    clean_to_orig_end: tuple[int, ...] = field(repr=False)
    sections: tuple[Section, ...]
    content_hash: str  # sha256 of the file's bytes
    # clean offsets where degenerate text was cut out (ingest/limits.py): no chunk
    # spans one, so no cited span holds the text that was cut
    breaks: tuple[int, ...] = ()

    def orig_span(self, clean_start: int, clean_end: int) -> tuple[int, int]:
        """Map a non-empty clean-text span to the original-text span that produced it."""
        if not 0 <= clean_start < clean_end <= len(self.clean_text):
            raise ValueError(f"bad clean span {clean_start}:{clean_end}")
        return self.clean_to_orig[clean_start], self.clean_to_orig_end[clean_end - 1]


@dataclass(frozen=True)
class Sentence:
    """A sentence inside a chunk; offsets index the original file text.

    ``role`` places it in a list or table (``lead``, ``item``, ``header``, ``row``;
    empty for prose) and ``block`` is then its block's position in ``Chunk.blocks``.
    ``instruction`` marks a sentence that gives an assistant, a model or the reader
    orders ("ignore previous instructions", "answer X"; ``ingest/instructions.py``):
    it stays searchable, but it is not a fact and must never be cited as evidence.
    """

    start: int
    end: int
    text: str  # cleaned sentence text
    role: str = ""
    block: int = -1
    instruction: bool = False


@dataclass(frozen=True)
class Block:
    """A list (lead-in line and items) or a table (header and rows) of a document,
    found at indexing time (``ingest/structure.py``). ``raw`` is the file text from
    ``start`` to ``end``, so a citation of the whole block can quote it even where
    the block runs past the chunk that was retrieved."""

    kind: str  # "list" | "table"
    section: str
    start: int
    end: int
    raw: str
    lead: Sentence | None
    header: Sentence | None
    items: tuple[Sentence, ...]

    def cells(self, row: Sentence) -> list[str]:
        return [c.strip() for c in row.text.split("\t")]

    @property
    def columns(self) -> list[str]:
        return self.cells(self.header) if self.header is not None else []


@dataclass(frozen=True)
class Chunk:
    """A passage of one document. ``document.text[start:end]`` is the cited text."""

    chunk_id: str
    doc_id: str
    source: str
    title: str
    section: str
    lang: str
    start: int  # offsets into the original file text
    end: int
    text: str  # cleaned text (what is embedded and tokenized)
    raw: str  # the original file text from start to end (what a citation shows)
    sentences: tuple[Sentence, ...] = ()
    # the lists and tables its sentences belong to (whole, even past the chunk's end)
    blocks: tuple[Block, ...] = ()

    def header(self) -> str:
        """Title and section, prepended to the text for embedding and BM25."""
        if self.section and self.section != self.title:
            return f"{self.title} | {self.section}"
        return self.title
