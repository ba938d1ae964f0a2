"""Figures in a sentence (scores, prices, dates, safety levels, counts, ratios) and
the model each one is stated for.

"SWE-bench Verified:取得73.3%的准确率,与Claude Sonnet 4(72.7%)相当" states 73.3% for the
article's subject and 72.7% for Sonnet 4; a table row "GPQA | 41.6% | 40.2%" states
its figures for the models named in the header's columns. A figure is an answer
only for the model it is stated for, so a question about one model is never
answered with a sibling's figure from the same sentence or row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.ingest.document import Block, Sentence
from kb.qa.lexicon import FigureKind, Lexicon
from kb.qa.mentions import Mention, ModelName, find_mentions

# a name right before a figure owns it when only a particle or bracket stands between
_ADJACENT_GAP = re.compile(r"^[\s(（:：]*(?:[의가이은는을를도로]|의\s|的|为|是)?[\s(（:：]*$")
_CLAUSE_BREAK = re.compile(r"[,，;；、]")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True)
class Figure:
    kind: str
    text: str  # as written, never cut inside a token
    start: int  # offsets in the sentence text
    end: int
    value: float | None
    unit: str  # "%", a currency code, "x", "" …
    owner: ModelName | None  # the model the figure is stated for (None: not a model)
    column: str = ""  # the table column it stands in, when a row's


def _unit(kind: str, text: str, lexicon: Lexicon) -> str:
    if kind == "score":
        return "%"
    if kind == "price":
        low = text.lower()
        for code, marks in lexicon.currency.items():
            if any(m.lower() in low for m in marks):
                return code
    if kind == "multiplier":
        return "x"
    return ""


def _value(kind: str, text: str, lexicon: Lexicon) -> float | None:
    m = _NUMBER.search(text)
    if kind == "multiplier":
        frac = re.search(r"(\S)\s?분의\s?(\S)|(\S)分之(\S)", text)
        if frac:
            den = frac.group(1) or frac.group(3)
            num = frac.group(2) or frac.group(4)
            d, n = _numeral(den, lexicon), _numeral(num, lexicon)
            return n / d if d and n is not None else None
        if "third" in text.lower():
            return 1 / 3
        if m is None:
            for word, v in lexicon.numerals.items():
                if word in text.lower():
                    return v
            return None
    if m is None:
        return None
    try:
        return float(m.group(0).replace(",", ""))
    except ValueError:  # pragma: no cover - the pattern only matches numbers
        return None


def _numeral(text: str, lexicon: Lexicon) -> float | None:
    if text.isdigit():
        return float(text)
    return lexicon.numerals.get(text)


def raw_figures(text: str, kind: FigureKind, lexicon: Lexicon) -> list[tuple[int, int, str]]:
    """Spans of figures of ``kind`` in ``text``: overlapping matches keep the
    earliest pattern's, and a second spelling of the same figure (AI安全等级2 beside
    ASL-2) is dropped."""
    found: list[tuple[int, int, int]] = []
    for rank, pattern in enumerate(kind.patterns):
        for m in pattern.finditer(text):
            s, e = m.span()
            while e > s and text[e - 1] in " .":
                e -= 1
            if e <= s or any(s < fe and fs < e for fs, fe, _ in found):
                continue
            found.append((s, e, rank))
    found.sort()
    out: list[tuple[int, int, str]] = []
    for s, e, rank in found:
        value = _value(kind.kind, text[s:e], lexicon)
        twin = next(
            (
                i
                for i, (ps, pe, _) in enumerate(out)
                if _value(kind.kind, text[ps:pe], lexicon) == value and s - pe <= 3
            ),
            None,
        )
        if twin is not None and kind.kind in ("safety",):
            prev_rank = next(r for fs, _, r in found if fs == out[twin][0])
            if rank < prev_rank:
                out[twin] = (s, e, text[s:e])
            continue
        out.append((s, e, text[s:e]))
    return out


def stated_values(text: str, lexicon: Lexicon, kinds: tuple[str, ...]) -> set[tuple[str, float]]:
    """The (unit, value) of each figure of ``kinds`` that ``text`` states ("73.3%",
    "$1", "1달러", "1美元"): a question that gives a figure asks whose it is."""
    out: set[tuple[str, float]] = set()
    for kind in lexicon.figures:
        if kind.kind not in kinds:
            continue
        for _, _, found in raw_figures(text, kind, lexicon):
            value = _value(kind.kind, found, lexicon)
            if value is not None:
                out.add((_unit(kind.kind, found, lexicon), value))
    return out


def _reference(text: str, m: Mention, lexicon: Lexicon) -> bool:
    """The name is a point of comparison ("Claude 3 Opus 대비", "than GPT-4o"), not
    the subject of what follows."""
    after = text[m.end : m.end + 8].lower()
    before = text[max(0, m.start - 12) : m.start].lower()
    return any(after.lstrip(" (（").startswith(w) for w in lexicon.reference_markers) or any(
        before.rstrip().endswith(w) for w in ("than", "vs", "vs.", "versus", "与", "和", "比")
    )


def stated_subject(
    text: str, before: int, mentions: list[Mention], lexicon: Lexicon
) -> ModelName | None:
    """The model a clause is about up to ``before``: a name right before that point,
    else the first name of the clause, else the first name of the sentence (names
    used as a point of comparison do not count)."""
    preceding = [m for m in mentions if m.end <= before]
    if preceding:
        last = preceding[-1]
        if _ADJACENT_GAP.match(text[last.end : before]) and len(text[last.end : before]) <= 4:
            return last.name
    clause_start = 0
    for b in _CLAUSE_BREAK.finditer(text, 0, before):
        clause_start = b.end()
    for group in ([m for m in preceding if m.start >= clause_start], preceding):
        for m in group:
            if not _reference(text, m, lexicon):
                return m.name
    return None


def _column_names(block: Block, lexicon: Lexicon) -> list[tuple[str, ModelName | None]]:
    out: list[tuple[str, ModelName | None]] = []
    for cell in block.columns:
        found = find_mentions(cell, lexicon)
        out.append((cell, found[0].name if found else None))
    return out


def figures_in(
    sentence: Sentence,
    kind: FigureKind,
    lexicon: Lexicon,
    context: ModelName | None,
    block: Block | None = None,
) -> list[Figure]:
    """Figures of ``kind`` in ``sentence``, each with the model it is stated for.

    ``context`` is the model the surrounding text is about (a list's lead-in, the
    section, the article), used when the sentence names none before the figure;
    ``block`` is the sentence's list or table."""
    text = sentence.text
    mentions = [
        Mention(m.name.resolve(context), m.start, m.end) for m in find_mentions(text, lexicon)
    ]
    columns = (
        _column_names(block, lexicon)
        if block is not None and block.kind == "table" and sentence.role == "row"
        else None
    )
    out = []
    for s, e, written in raw_figures(text, kind, lexicon):
        column = ""
        owner: ModelName | None
        if columns is not None:
            cell = text[:s].count("\t")
            column, owner = columns[cell] if cell < len(columns) else ("", None)
            if owner is not None:
                owner = owner.resolve(context)
        else:
            owner = stated_subject(text, s, mentions, lexicon) or context
        out.append(
            Figure(
                kind=kind.kind,
                text=written,
                start=s,
                end=e,
                value=_value(kind.kind, written, lexicon),
                unit=_unit(kind.kind, written, lexicon),
                owner=owner,
                column=column,
            )
        )
    return out
