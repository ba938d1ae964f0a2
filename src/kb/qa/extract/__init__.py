"""From scored candidates to the answer a person asked for, per question type.

* figure: the whole figure as written, stated for the model asked;
* which: the model or entity the evidence names (not the ones the question names);
* list: the lead-in and every item after it (the list is cited as one block);
* comparison: both models' figures and, when numeric, the difference;
* arithmetic: a difference, a ratio or a cost for the token volumes asked, with its
  working, citing every figure used;
* yes/no and open: the best sentence (a list item with its lead-in, a lead-in with
  its items).
"""

from __future__ import annotations

from kb.qa.extract.base import Extracted, Scored, clean_item
from kb.qa.extract.compare import comparison
from kb.qa.extract.compute import arithmetic
from kb.qa.extract.figure_pick import figure
from kb.qa.extract.text import open_answer, yes_no
from kb.qa.extract.which import named_list, which
from kb.qa.lexicon import Lexicon
from kb.qa.question import Question

EXTRACTORS = {
    "figure": figure,
    "which": which,
    "list": named_list,
    "comparison": comparison,
    "arithmetic": arithmetic,
    "yesno": yes_no,
    "open": open_answer,
}


def extract(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    """The answer, or None when the evidence lacks part of what the type needs (one
    side of a comparison, an operand of a computation)."""
    return EXTRACTORS.get(q.qtype, open_answer)(q, scored, lexicon)


__all__ = ["Extracted", "Scored", "clean_item", "extract"]
