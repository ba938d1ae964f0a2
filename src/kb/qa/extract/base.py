"""What every extraction returns, and the small helpers they share."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.qa.evidence import Candidate
from kb.qa.evidence_match import names_benchmark, topic_bigrams
from kb.qa.figures import Figure
from kb.qa.glossary import expand
from kb.qa.lexicon import Lexicon
from kb.qa.mentions import ModelName
from kb.qa.question import Question

Scored = list[tuple[float, Candidate]]
_BULLET = re.compile(r"^\s*(?:[-*•·▪‣]|\d{1,2}[.)]|[①-⑳])\s*")


@dataclass(frozen=True)
class Extracted:
    lead: str  # the lead line, without citation markers
    evidence: list[Candidate]  # cited in this order; the first holds the main evidence
    items: list[str] = field(default_factory=list)  # list items (cited with the first)
    whole_block: bool = False  # cite the first evidence's list block, not its sentence
    quote_in_lead: bool = False  # the lead is the evidence sentence itself
    # how many of the last ``evidence`` entries are further quotes shown under the lead
    # (a runner-up sentence the ranker scores nearly as high), not part of it
    also: int = 0
    # with ``whole_block``: the items of a runner-up list (the last evidence), shown
    # under the chosen list's items
    also_items: list[str] = field(default_factory=list)


def clean_item(text: str) -> str:
    return _BULLET.sub("", text).strip()


def subject_text(name: ModelName | None, q: Question, lexicon: Lexicon) -> str:
    """The model to name in a lead line: the one the evidence states it for, in its
    fullest written form ("Claude Haiku 4.5" rather than the asked "하이쿠 4.5")."""
    if q.model is not None and (name is None or name.compatible(q.model)):
        chosen = (
            name
            if name is not None and not name.truncated and len(name.words) >= len(q.model.words)
            else q.model
        )
        return chosen.display(lexicon)
    return name.display(lexicon) if name is not None else ""


def benchmark_label(q: Question, phrase: str | None = None) -> str:
    """The benchmark the question names (the first, or ``phrase``), as the question
    writes it."""
    if not q.benchmarks:
        return ""
    return as_written(q.text, phrase or q.benchmarks[0])


def as_written(text: str, phrase: str) -> str:
    """``phrase`` (lowercased, single-spaced) as ``text`` writes it."""
    m = re.search(re.escape(phrase).replace(r"\ ", r"\s+"), text, re.I)
    return m.group(0) if m else phrase


def label(q: Question, lexicon: Lexicon, evidence: str = "") -> str:
    """What the figure is: the benchmark asked (of several, the first ``evidence``
    names), else the figure kind's label."""
    named = [b for b in q.benchmarks if evidence and names_benchmark(evidence, (b,))]
    if named and (shown := as_written(evidence, named[0])).lower() == named[0]:
        return shown  # as the evidence writes it ("OSWorld" for "osworld")
    bench = benchmark_label(q, named[0] if named else None)
    return bench or kind_label(q)


def kind_label(q: Question) -> str:
    """The asked figure kind's label in the asker's language ("score", "得分")."""
    return q.figure.label.get(q.lang, q.figure.label.get("en", "")) if q.figure else ""


def side(sentence: str, f: Figure, lexicon: Lexicon) -> str:
    """ "input"/"output" when the words just before the figure say so."""
    before = sentence[max(0, f.start - 16) : f.start].lower()
    found = ""
    best = -1
    for name, words in lexicon.figure_context.items():
        for w in words:
            at = before.rfind(w.lower())
            if at > best:
                best, found = at, name
    return found


def asked_sides(q: Question, lexicon: Lexicon) -> list[str]:
    """The sides (input/output) the question names, in the order it names them."""
    low = q.text.lower()
    found = []
    for name, words in lexicon.figure_context.items():
        at = min((low.find(w) for w in words if w in low), default=-1)
        if at >= 0:
            found.append((at, name))
    return [name for _, name in sorted(found)]


def question_topic(q: Question, lexicon: Lexicon) -> set[str]:
    return topic_bigrams(" ".join([q.text, *expand(q.text, lexicon.glossary)]), lexicon)


def clause(text: str, f: Figure) -> str:
    """The comma-delimited clause of ``text`` holding figure ``f``."""
    start = max((m.end() for m in re.finditer(r"[,，;；]", text[: f.start])), default=0)
    rest = text[f.end :]
    end = min((m.start() for m in re.finditer(r"[,，;；]", rest)), default=len(rest))
    return text[start : f.end + end]


def decimals(text: str) -> int:
    m = re.search(r"\.(\d+)", text)
    return len(m.group(1)) if m else 0


def surroundings(c: Candidate) -> str:
    """A candidate's sentence with its list's lead-in and its section heading: what
    names the models and the benchmark it speaks of."""
    lead = c.block.lead.text if c.block is not None and c.block.lead is not None else ""
    return f"{c.hit.chunk.section} {lead} {c.sentence.text}"


def same_block(a: Candidate, b: Candidate) -> bool:
    return (
        a.block is not None
        and b.block is not None
        and a.hit.chunk.doc_id == b.hit.chunk.doc_id
        and (a.block.start, a.block.end) == (b.block.start, b.block.end)
    )
