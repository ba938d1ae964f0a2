"""Answers from retrieved passages, with numbered citations.

``ExtractiveAnswerer`` (the offline default) picks the sentence or two that best
answer the question among the top passages, pulls out the figure itself when the
question asks for one (a score, a price, a date, a safety level), and abstains
when the best evidence is too weak.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index.store import KnowledgeIndex
from qa.cite import Citation, make_citation
from qa.glossary import expand
from qa.retrieve import HybridRetriever, Retrieval

NOT_FOUND = {
    "en": "The knowledge base does not contain an answer to this question.",
    "ko": "지식 베이스에서 이 질문에 대한 답을 찾지 못했습니다.",
    "zh": "知识库中没有找到这个问题的答案。",
}


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: list[Citation]
    abstained: bool
    confidence: float

    def to_dict(self) -> dict[str, object]:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "confidence": round(self.confidence, 4),
            "citations": [c.to_dict() for c in self.citations],
        }


class Answerer(Protocol):
    def answer(self, question: str) -> Answer: ...


# What kind of figure a question asks for, and how to find it in a sentence.
_FIGURES: list[tuple[re.Pattern[str], re.Pattern[str]]] = [
    (
        re.compile(r"price|cost|how much|\$|가격|비용|요금|얼마|价格|成本|费用|多少钱|价钱", re.I),
        re.compile(r"\$\s?\d[\d,]*(?:\.\d+)?|\d[\d,]*(?:\.\d+)?\s?(?:달러|美元|dollars?|USD)", re.I),
    ),
    (
        re.compile(r"\bASL\b|safety level|안전\s*등급|안전\s*수준|安全等级|安全级别|등급|等级", re.I),
        re.compile(r"ASL-?\s?\d(?:\s?\(?[A-Za-z가-힣一-鿿-]*\)?)?|AI\s?안전\s?등급\s?\d|AI安全等级\s?\d"),
    ),
    (
        re.compile(r"when|date|release|launch|언제|날짜|출시일|공개일|발표일|何时|什么时候|日期|发布", re.I),
        re.compile(
            r"\d{4}\s?년\s?\d{1,2}\s?월(?:\s?\d{1,2}\s?일)?|\d{4}年\d{1,2}月(?:\d{1,2}日)?|"
            r"\d{4}[./-]\d{1,2}[./-]\d{1,2}|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{1,2},? \d{4}"
        ),
    ),
    (
        re.compile(
            r"score|percent|%|accuracy|rate|how (?:well|good)|benchmark|점수|성적|정확도|몇\s*%|퍼센트|"
            r"기록|得分|分数|准确率|百分|成绩|多少",
            re.I,
        ),
        re.compile(r"\d+(?:\.\d+)?\s?%"),
    ),
]

_WORD = re.compile(r"\w")


def asked_figure(question: str) -> re.Pattern[str] | None:
    for asks, finds in _FIGURES:
        if asks.search(question):
            return finds
    return None


def _lang_of(question: str) -> str:
    if re.search(r"[가-힣]", question):
        return "ko"
    if re.search(r"[一-鿿]", question):
        return "zh"
    return "en"


@dataclass(frozen=True)
class _Candidate:
    score: float
    hit_index: int
    sentence_row: int
    figure: str | None


class ExtractiveAnswerer:
    """Sentence extraction over the retriever's top passages; no LLM needed."""

    def __init__(
        self,
        retriever: HybridRetriever,
        k: int = 5,
        min_evidence: float = 0.45,
        passages_considered: int = 3,
    ) -> None:
        self.retriever = retriever
        self.index: KnowledgeIndex = retriever.index
        self.k = k
        self.min_evidence = min_evidence
        self.passages_considered = passages_considered

    def answer(self, question: str) -> Answer:
        retrieval = self.retriever.retrieve(question, self.k)
        return self.answer_from(question, retrieval)

    def _lexical_overlap(self, query_tokens: set[str], sentence: str) -> float:
        if not query_tokens:
            return 0.0
        tokens = set(self.index.tokenizer(sentence))
        return len(query_tokens & tokens) / len(query_tokens)

    def answer_from(self, question: str, retrieval: Retrieval) -> Answer:
        hits = retrieval.hits
        lang = _lang_of(question)
        if not hits:
            return Answer(question, NOT_FOUND[lang], [], True, 0.0)
        figure_re = asked_figure(question)
        tok = self.index.tokenizer
        q_tokens = set(tok(question))
        q_expanded = q_tokens | {t for w in expand(question) for t in tok(w)}
        chunk_rows = {c.chunk_id: i for i, c in enumerate(self.index.chunks)}
        best_hit = hits[0].score or 1.0
        candidates: list[_Candidate] = []
        for h_i, hit in enumerate(hits[: self.passages_considered]):
            row = chunk_rows[hit.chunk.chunk_id]
            rows = self.retriever.sentence_rows(row)
            for s_i, s_row in enumerate(rows):
                sentence = hit.chunk.sentences[s_i]
                cos = retrieval.sentence_cosine.get(s_row, 0.0)
                overlap = self._lexical_overlap(q_expanded, sentence.text)
                figure = None
                if figure_re is not None:
                    m = figure_re.search(sentence.text)
                    figure = m.group(0).strip() if m else None
                score = (
                    1.0 * cos
                    + 0.35 * overlap
                    + 0.25 * (hit.score / best_hit)
                    + (0.08 if figure else 0.0)
                    - 0.02 * h_i
                )
                if len(_WORD.findall(sentence.text)) < 6:
                    score -= 0.1  # a heading or a fragment is a poor answer
                candidates.append(_Candidate(score, h_i, s_row, figure))
        if not candidates:
            return Answer(question, NOT_FOUND[lang], [], True, 0.0)
        candidates.sort(key=lambda c: -c.score)
        top = candidates[0]
        confidence = self._confidence(retrieval, top, q_tokens)
        if confidence < self.min_evidence:
            return Answer(question, NOT_FOUND[lang], [], True, confidence)
        chosen = [top]
        for c in candidates[1:]:
            if c.score >= top.score - 0.05 and c.sentence_row != top.sentence_row and len(chosen) < 2:
                chosen.append(c)
        citations: list[Citation] = []
        parts: list[str] = []
        for c in chosen:
            hit = hits[c.hit_index]
            row = chunk_rows[hit.chunk.chunk_id]
            s_i = c.sentence_row - self.retriever.sentence_rows(row).start
            sentence = hit.chunk.sentences[s_i]
            n = next(
                (cit.n for cit in citations if cit.chunk_id == hit.chunk.chunk_id), len(citations) + 1
            )
            if n == len(citations) + 1:
                citations.append(make_citation(n, hit.chunk, sentence))
            parts.append(f"{sentence.text} [{n}]")
        body = " ".join(parts)
        if top.figure:
            body = f"{top.figure} — {body}"
        return Answer(question, body, citations, False, confidence)

    def _confidence(self, retrieval: Retrieval, top: _Candidate, q_tokens: set[str]) -> float:
        """How strongly the evidence supports answering at all, in [0, 1]-ish.

        Raw cosine of the best sentence (e5 cosines of related text sit around
        0.80-0.90, unrelated around 0.70-0.78) blended with how much of the
        question's lexical content the top passage covers.
        """
        cos = retrieval.sentence_cosine.get(top.sentence_row, 0.0) if retrieval.sentence_cosine else 0.0
        hit = retrieval.hits[top.hit_index]
        lexical = hit.scores.get("lexical", 0.0)
        cos_part = float(np.clip((cos - 0.74) / 0.14, 0.0, 1.0))
        if retrieval.query_vector is None:  # lexical-only mode
            return lexical
        return 0.7 * cos_part + 0.3 * min(1.0, lexical)
