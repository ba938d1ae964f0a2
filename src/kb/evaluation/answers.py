"""Answer-level metrics for gold sets: does the answer contain the asked fact, does
kb abstain when it should (and only then), does the first citation hold the
evidence, is every quote the source file's text at its offsets.

A gold question's ``answer_keys`` are strings a correct answer contains, compared
after NFKC, lowercasing and removing whitespace. The list means "any of"; an entry
that is itself a list means "all of these" (both figures of a comparison).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kb.evaluation.metrics import rate

Key = str | tuple[str, ...]
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", text).lower())


def contains_key(answer: str, keys: Sequence[Key]) -> bool:
    """True when ``answer`` holds one of ``keys`` (a tuple key: all of its parts)."""
    text = normalize(answer)
    for key in keys:
        parts = (key,) if isinstance(key, str) else key
        if parts and all(normalize(p) in text for p in parts):
            return True
    return False


def holds_evidence(text: str, evidence: Iterable[str]) -> bool:
    """``text`` contains one of the evidence strings (whitespace ignored)."""
    squashed = normalize(text)
    return any((e := normalize(s)) and e in squashed for s in evidence)


@dataclass(frozen=True)
class AnswerRow:
    """One gold question's answer, judged."""

    qid: str
    lang: str
    qtype: str  # the gold "type" ("" when the set has none)
    answerable: bool
    trap: bool
    has_keys: bool
    key_hit: bool  # the answer holds a key (False when abstained)
    abstained: bool
    first_holds_evidence: bool | None  # None: abstained, no citation or no evidence
    quotes_exact: bool  # every citation quote equals the file text at its offsets


def _block(rows: Sequence[AnswerRow]) -> dict[str, Any]:
    answerable = [r for r in rows if r.answerable]
    keyed = [r for r in answerable if r.has_keys]
    unanswerable = [r for r in rows if not r.answerable]
    traps = [r for r in unanswerable if r.trap]
    answered = [r for r in rows if not r.abstained]
    judged = [r for r in answered if r.answerable and r.first_holds_evidence is not None]
    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "with_keys": len(keyed),
        "key_fact": rate(sum(r.key_hit for r in keyed), len(keyed)),
        "false_abstention": rate(sum(r.abstained for r in answerable), len(answerable)),
        "unanswerable": len(unanswerable),
        "abstained_on_unanswerable": rate(
            sum(r.abstained for r in unanswerable), len(unanswerable)
        ),
        "traps": len(traps),
        "abstained_on_traps": rate(sum(r.abstained for r in traps), len(traps)),
        "answered": len(answered),
        "first_citation_holds_evidence": rate(
            sum(bool(r.first_holds_evidence) for r in judged), len(judged)
        ),
        "quotes_exact": rate(sum(r.quotes_exact for r in answered), len(answered)),
    }


def summarize_answers(rows: Sequence[AnswerRow]) -> dict[str, Any]:
    """Overall, per question type and per language, with the ids of the misses."""
    out = _block(rows)
    out["by_type"] = {
        t: _block([r for r in rows if r.qtype == t]) for t in sorted({r.qtype for r in rows}) if t
    }
    out["by_lang"] = {
        g: _block([r for r in rows if r.lang == g]) for g in sorted({r.lang for r in rows})
    }
    out["misses"] = {
        "key_fact": [
            r.qid for r in rows if r.answerable and r.has_keys and not r.key_hit and not r.abstained
        ],
        "false_abstentions": [r.qid for r in rows if r.answerable and r.abstained],
        "answered_unanswerable": [r.qid for r in rows if not r.answerable and not r.abstained],
        "first_citation": [
            r.qid for r in rows if not r.abstained and r.first_holds_evidence is False
        ],
        "quotes": [r.qid for r in rows if not r.abstained and not r.quotes_exact],
    }
    return out
