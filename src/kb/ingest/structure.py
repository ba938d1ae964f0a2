"""Lists and tables in an article's clean text: which lines are a lead-in, items, a
table header and its rows.

Articles state many facts as a lead-in followed by items ("…에서 특히 강점을 보입니다:"
then one strength per line) or as a table whose rows hold several models' figures
(header "평가 영역 | Claude 3.5 하이쿠 | GPT-4o mini", row "GPQA | 41.6% | 40.2%"). An
answer needs that structure: the items of a list, the column a figure stands in. It
is found once per document here, at indexing time, and saved with the chunks.

Only line layout is used (no language knowledge):

* a *table* is a run of at least two lines with the same number (≥ 1) of tab
  separators; the first is the header, the others are rows; the line before it is
  its lead-in when short or ending in a colon;
* a *list* is a lead-in line followed by items. A lead-in ends in ":" or "：", or is
  followed by bullets ("-", "*", "•", "·"; a circled-number heading "③ 적용 분야"
  leads the dash items under it), or is a short line followed by a blank line and
  then short lines. Items are bullet lines, short lines without a sentence
  end, or (after a lead-in ending in a colon) labelled lines, "빠른 처리 속도: 가장
  빠른 응답 시간을 자랑합니다." (a short label, a colon, the item's text). A list
  ends at a long sentence, a blank line before a new lead-in, a numbered
  sub-heading ("3. …") when the items are not numbered, a table, the first line
  that is not labelled (labelled items), or the end of the section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.ingest.document import Block, Document, Sentence

MAX_ITEM_CHARS = 60  # a plain line longer than this is prose, not a list item
_BULLET = re.compile(r"^(?:[-*•·▪‣]|[①-⑳])\s*")
_CIRCLED = re.compile(r"^[①-⑳]")
_NUMBERED = re.compile(r"^(?:\d{1,2}[.)]|\(\d{1,2}\))\s+")
_SENTENCE_END = re.compile(r"[.。!?！？]['\"”’)]?$")
_COLON = (":", "：")
# "빠른 처리 속도: …", "Speed: …", "速度：…": a short label without a sentence end, a colon
_LABELLED = re.compile(r"^[^:：.。!?！？\t]{1,24}[:：]\s*\S")
_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class _Line:
    start: int  # clean offsets, stripped
    end: int
    text: str
    blank_before: bool

    @property
    def tabs(self) -> int:
        return self.text.count("\t")

    @property
    def bullet(self) -> bool:
        return bool(_BULLET.match(self.text))

    @property
    def circled(self) -> bool:
        return bool(_CIRCLED.match(self.text))

    @property
    def numbered(self) -> bool:
        return bool(_NUMBERED.match(self.text))

    @property
    def colon(self) -> bool:
        return self.text.endswith(_COLON)

    @property
    def labelled(self) -> bool:
        return not self.colon and bool(_LABELLED.match(self.text))

    @property
    def short(self) -> bool:
        return (
            len(self.text) <= MAX_ITEM_CHARS
            and not _SENTENCE_END.search(self.text)
            and not self.colon
            and self.tabs == 0
        )


def _lines(text: str, base: int) -> list[_Line]:
    out: list[_Line] = []
    pos = 0
    blank = False
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped:
            lead = len(raw) - len(raw.lstrip())
            start = base + pos + lead
            out.append(_Line(start, start + len(stripped), stripped, blank))
            blank = False
        else:
            blank = True
        pos += len(raw) + 1
    return out


@dataclass(frozen=True)
class _Span:
    """A block found in clean text: kind, lead-in line, header line, item lines."""

    kind: str
    lead: _Line | None
    header: _Line | None
    items: tuple[_Line, ...]


def _table_at(lines: list[_Line], i: int) -> int:
    """End (exclusive) of a table starting at line ``i`` (``i`` when none)."""
    tabs = lines[i].tabs
    if tabs < 1:
        return i
    j = i + 1
    while j < len(lines) and lines[j].tabs == tabs:
        j += 1
    return j if j - i >= 2 else i


def _starts_list(lines: list[_Line], i: int) -> bool:
    line = lines[i]
    if line.tabs or i + 1 >= len(lines):
        return False
    nxt = lines[i + 1]
    if nxt.tabs:
        return False
    if line.bullet:
        # "③ 적용 분야" over "- 소프트웨어 개발: …": a circled-number heading leads
        # the dash items under it
        return line.circled and nxt.bullet and not nxt.circled
    if line.colon:
        return nxt.bullet or nxt.short or nxt.numbered or nxt.labelled
    if nxt.bullet:
        return True
    # a short title line, a blank line, then at least two short lines
    return (
        line.short
        and nxt.blank_before
        and nxt.short
        and i + 2 < len(lines)
        and lines[i + 2].short
        and not lines[i + 2].blank_before
    )


def _list_items(lines: list[_Line], i: int) -> int:
    """End (exclusive) of the items after the lead-in at line ``i``."""
    j = i + 1
    bullets = lines[j].bullet
    numbered = lines[j].numbered
    labelled = lines[i].colon and not bullets and not numbered and lines[j].labelled
    while j < len(lines):
        line = lines[j]
        if line.tabs or (line.colon and not line.bullet):
            break
        if not _WORD.search(line.text):
            break  # a rule or a box-drawing line
        if j > i + 1 and _starts_list(lines, j) and (not line.bullet or line.circled):
            break
        if (
            line.short
            and not (bullets and line.bullet)  # an item is no sub-heading
            and j + 1 < len(lines)
            and (lines[j + 1].colon or _starts_list(lines, j + 1))
        ):
            break  # a sub-heading above the next list
        if labelled:
            if not line.labelled or (line.blank_before and j > i + 1):
                break  # the labelled items end at the first line that is none
        elif line.bullet:
            if not bullets and j > i + 1:
                break
        elif line.numbered:
            if not numbered:
                break
        elif not line.short or bullets:
            break
        j += 1
    return j


def find_spans(text: str, base: int = 0) -> list[_Span]:
    """Lists and tables in one section's clean text (offsets shifted by ``base``)."""
    lines = _lines(text, base)
    spans: list[_Span] = []
    i = 0
    while i < len(lines):
        end = _table_at(lines, i)
        if end > i:
            prev = lines[i - 1] if i else None
            lead = (
                prev if prev is not None and not prev.tabs and (prev.colon or prev.short) else None
            )
            spans.append(_Span("table", lead, lines[i], tuple(lines[i + 1 : end])))
            i = end
            continue
        if _starts_list(lines, i):
            end = _list_items(lines, i)
            if end - (i + 1) >= (1 if lines[i].colon else 2) and _WORD.search(lines[i].text):
                spans.append(_Span("list", lines[i], None, tuple(lines[i + 1 : end])))
                i = end
                continue
        i += 1
    return spans


def _sentence(doc: Document, line: _Line) -> Sentence:
    start, end = doc.orig_span(line.start, line.end)
    return Sentence(start, end, line.text)


def find_blocks(doc: Document) -> list[tuple[Block, list[tuple[int, int, str]]]]:
    """Every list and table of ``doc``, each with the clean spans of its lines and
    their roles (``lead``, ``header``, ``item``, ``row``), in document order."""
    out: list[tuple[Block, list[tuple[int, int, str]]]] = []
    clean = doc.clean_text
    for sec in doc.sections:
        for span in find_spans(clean[sec.start : sec.end], sec.start):
            lines: list[tuple[_Line, str]] = []
            if span.lead is not None:
                lines.append((span.lead, "lead"))
            if span.header is not None:
                lines.append((span.header, "header"))
            item_role = "row" if span.kind == "table" else "item"
            lines.extend((line, item_role) for line in span.items)
            first, last = lines[0][0], lines[-1][0]
            start, end = doc.orig_span(first.start, last.end)
            block = Block(
                kind=span.kind,
                section=sec.title,
                start=start,
                end=end,
                raw=doc.text[start:end],
                lead=_sentence(doc, span.lead) if span.lead is not None else None,
                header=_sentence(doc, span.header) if span.header is not None else None,
                items=tuple(_sentence(doc, line) for line in span.items),
            )
            out.append((block, [(line.start, line.end, role) for line, role in lines]))
    return out
