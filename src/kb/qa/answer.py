"""What the answer stage returns (Answer, with its citations).

An answerer takes the question and the stage before's ``Retrieval`` (it never calls
the retriever), and returns an ``Answer``: a lead line in the asker's language
("Claude Haiku 4.5 — SWE-bench Verified: 73.3% [1]"), the quoted evidence, and the
citations, or "not found" (``abstained``) when the passages do not hold the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from kb.qa.cite import Citation
from kb.qa.hits import Retrieval


@dataclass(frozen=True)
class Answer:
    question: str
    text: str  # the whole answer: lead line, then quotes or items, with [n] markers
    citations: list[Citation]
    abstained: bool
    confidence: float
    lead: str = ""  # the lead line alone (what the chat shows as the answer)
    kind: str = ""  # question type: figure, which, list, comparison, arithmetic, yesno, open
    lang: str = ""  # the language the lead line is written in
    quotes: list[str] = field(default_factory=list)  # the quoted evidence, cleaned

    def to_dict(self) -> dict[str, object]:
        return {
            "question": self.question,
            "answer": self.text,
            "lead": self.lead,
            "type": self.kind,
            "lang": self.lang,
            "abstained": self.abstained,
            "confidence": round(self.confidence, 4),
            "citations": [c.to_dict() for c in self.citations],
        }


class Answerer(Protocol):
    """The answer stage: the extractive default (qa/extractive.py) or a language
    model whose citations are verified (llm/answerer.py)."""

    def answer(self, question: str, retrieval: Retrieval) -> Answer: ...
