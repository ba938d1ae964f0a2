"""Chunking: section-aware, CJK-aware sentence boundaries, offsets into the original file.

Each section's clean text is split with langchain's RecursiveCharacterTextSplitter,
using paragraph, line and sentence separators of Korean, Chinese and Western text.
Pieces shorter than a quarter chunk are merged with their neighbour so a lone
heading or table row does not become a passage of its own. Every chunk is then
located in the clean text and mapped back to original-file offsets.

No chunk spans a *break* of the document (where ``ingest/limits.py`` cut degenerate
text out), at most ``max_chunks`` chunks are kept per file (a warning names the
file and the limit), and sentences the instruction cues match are marked
(``ingest/instructions.py``).
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import re
from dataclasses import dataclass, field

from langchain_text_splitters import RecursiveCharacterTextSplitter

from kb.ingest.document import Block, Chunk, Document, Sentence
from kb.ingest.instructions import InstructionCues, bundled_cues, flag_block, flag_sentences
from kb.ingest.structure import find_blocks

log = logging.getLogger(__name__)

SEPARATORS = [
    "\n\n",
    "\n",
    "。",
    "！",
    "？",
    ". ",
    "! ",
    "? ",
    "；",
    "; ",
    "，",
    ", ",
    " ",
    "",
]

_SENTENCE = re.compile(r"[^\n。！？!?]*?(?:[。！？!?]+|\.(?=\s|$)|\n|$)")
_WORDISH = re.compile(r"\w")


@dataclass(frozen=True)
class ChunkerConfig:
    chunk_size: int = 700  # the app default (settings.py); measured in README
    chunk_overlap: int = 100
    # per file (KB_MAX_CHUNKS_PER_FILE, KB_MAX_SENTENCES_PER_FILE): an article of
    # 120,000 characters fits; the corpus articles have at most 16 chunks and 155
    # sentences. Bounds the embedding work a file can cause.
    max_chunks: int = 200
    max_sentences: int = 2000
    # instruction cues (bundled; ``instructions.load_cues(cue_paths(corpus))`` adds
    # the corpus folder's own)
    instructions: InstructionCues = field(default_factory=bundled_cues, compare=False)

    def describe(self) -> dict[str, object]:
        return {
            "splitter": "langchain RecursiveCharacterTextSplitter, per section",
            "chunk_size": self.chunk_size,
            "chunk_overlap": self.chunk_overlap,
            "separators": SEPARATORS,
            "merge_below": self.chunk_size // 4,
            "max_chunks": self.max_chunks,
            "max_sentences": self.max_sentences,
            "instruction_cues": self.instructions.fingerprint,
        }


@dataclass
class _Piece:
    start: int  # clean offsets
    end: int
    section: str


def _split_section(text: str, base: int, section: str, cfg: ChunkerConfig) -> list[_Piece]:
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=cfg.chunk_size,
        chunk_overlap=cfg.chunk_overlap,
        separators=SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )
    pieces = []
    search_from = 0
    for part in splitter.split_text(text):
        at = text.find(part, search_from)
        if at < 0:  # pragma: no cover - the splitter only returns substrings
            at = text.find(part)
        if at < 0:
            continue
        pieces.append(_Piece(base + at, base + at + len(part), section))
        search_from = at + 1
    return pieces


def _merge_small(
    pieces: list[_Piece], cfg: ChunkerConfig, clean: str, breaks: tuple[int, ...] = ()
) -> list[_Piece]:
    small = cfg.chunk_size // 4
    out: list[_Piece] = []
    for p in pieces:
        if out:
            prev = out[-1]
            prev_small = prev.end - prev.start < small
            cur_small = p.end - p.start < small
            if (
                (prev_small or cur_small)
                and p.end - prev.start <= cfg.chunk_size
                and p.start >= prev.end
                and not any(prev.end <= b <= p.start for b in breaks)
            ):
                # label with the section holding more of the text
                section = prev.section if prev.end - prev.start >= p.end - p.start else p.section
                out[-1] = _Piece(prev.start, p.end, section)
                continue
        out.append(p)
    return [p for p in out if len(_WORDISH.findall(clean[p.start : p.end])) >= 8]


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text`` (Korean, Chinese and Western sentence ends, newlines)."""
    spans = []
    for m in _SENTENCE.finditer(text):
        s, e = m.span()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s and len(_WORDISH.findall(text[s:e])) >= 4:
            spans.append((s, e))
    return spans


def _roles(doc: Document) -> tuple[list[Block], list[tuple[int, int, str, int]]]:
    """The document's blocks, and (clean start, clean end, role, block number) of
    each of their lines, sorted by position."""
    blocks: list[Block] = []
    lines: list[tuple[int, int, str, int]] = []
    for block, spans in find_blocks(doc):
        lines.extend((s, e, role, len(blocks)) for s, e, role in spans)
        blocks.append(block)
    lines.sort()
    return blocks, lines


def _pieces(doc: Document, cfg: ChunkerConfig) -> tuple[list[_Piece], bool]:
    """The document's pieces, at most ``max_chunks``, and whether text was left out.
    Text far past what ``max_chunks`` chunks can hold is not split at all."""
    clean = doc.clean_text
    budget = 2 * (cfg.max_chunks + 1) * cfg.chunk_size
    pieces: list[_Piece] = []
    cut = False
    for sec in doc.sections:
        end = min(sec.end, budget)
        pieces.extend(_split_section(clean[sec.start : end], sec.start, sec.title, cfg))
        if end < sec.end:
            cut = bool(clean[end:].strip())
            break
    merged = _merge_small(pieces, cfg, clean, doc.breaks)
    return merged[: cfg.max_chunks], cut or len(merged) > cfg.max_chunks


def _warn_cut(doc: Document, chunks: list[Chunk], cfg: ChunkerConfig) -> None:
    last = chunks[-1].end if chunks else 0
    log.warning(
        "%s: kept the first %d chunks and %d sentences (%.0f%% of the file): over the limit "
        "of %d chunks (KB_MAX_CHUNKS_PER_FILE) or %d sentences (KB_MAX_SENTENCES_PER_FILE) "
        "per file",
        doc.source,
        len(chunks),
        sum(len(c.sentences) for c in chunks),
        100 * last / max(1, len(doc.text)),
        cfg.max_chunks,
        cfg.max_sentences,
    )


def _clipped(doc: Document, end: int) -> Document:
    """``doc`` with its sections cut at clean offset ``end`` (lists and tables are
    looked for only in the text the chunks keep)."""
    sections = tuple(
        dataclasses.replace(s, end=min(s.end, end)) for s in doc.sections if s.start < end
    )
    return dataclasses.replace(doc, sections=sections)


def chunk_document(doc: Document, cfg: ChunkerConfig) -> list[Chunk]:
    clean = doc.clean_text
    pieces, cut = _pieces(doc, cfg)
    total_sentences = 0
    blocks, lines = _roles(_clipped(doc, pieces[-1].end) if cut and pieces else doc)
    blocks = [flag_block(b, cfg.instructions) for b in blocks]
    starts = [line[0] for line in lines]
    chunks = []
    for p in pieces:
        text = clean[p.start : p.end]
        start, end = doc.orig_span(p.start, p.end)
        sentences = []
        gaps = []
        prev_end = 0
        used: dict[int, int] = {}  # document block number -> position in this chunk's blocks
        for s, e in split_sentences(text):
            gaps.append(text[prev_end:s])
            prev_end = e
            c_start, c_end = p.start + s, p.start + e
            o_start, o_end = doc.orig_span(c_start, c_end)
            role, block = "", -1
            i = bisect.bisect_right(starts, c_start) - 1
            if i >= 0 and lines[i][0] <= c_start and c_end <= lines[i][1]:
                role = lines[i][2]
                block = used.setdefault(lines[i][3], len(used))
            sentences.append(Sentence(o_start, o_end, text[s:e], role, block))
        sentences = flag_sentences(sentences, gaps, cfg.instructions)
        total_sentences += len(sentences)
        if total_sentences > cfg.max_sentences:
            cut = True
            break
        chunks.append(
            Chunk(
                chunk_id=f"{doc.doc_id}:{start}-{end}",
                doc_id=doc.doc_id,
                source=doc.source,
                title=doc.title,
                section=p.section,
                lang=doc.lang,
                start=start,
                end=end,
                text=text,
                raw=doc.text[start:end],
                sentences=tuple(sentences),
                blocks=tuple(blocks[b] for b in used),
            )
        )
    if cut:
        _warn_cut(doc, chunks, cfg)
    return chunks
