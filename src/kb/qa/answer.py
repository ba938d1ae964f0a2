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

from kb.index.store import KnowledgeIndex
from kb.ingest.document import Sentence
from kb.qa.cite import Citation, make_citation
from kb.qa.entities import required_tokens
from kb.qa.glossary import expand
from kb.qa.retrieve import HybridRetriever, Retrieval

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
        re.compile(
            r"\bASL\b|safety level|안전\s*등급|안전\s*수준|安全等级|安全级别|등급|等级", re.I
        ),
        re.compile(
            r"ASL-?\s?\d(?:\s?\(?[A-Za-z가-힣一-鿿-]*\)?)?|AI\s?안전\s?등급\s?\d|AI安全等级\s?\d"
        ),
    ),
    (
        re.compile(
            r"score|percent|%|accuracy|\brate\b|점수|성적|정확도|몇\s*%|퍼센트|"
            r"기록|得分|分数|准确率|百分|成绩",
            re.I,
        ),
        re.compile(r"\d+(?:\.\d+)?\s?%"),
    ),
    (
        re.compile(
            r"^\s*when\b|\bwhen (?:was|is|did|were|will)\b|\bdate\b|언제|날짜|출시일|공개일|발표일|"
            r"何时|什么时候|日期|哪天|哪一天",
            re.I,
        ),
        re.compile(
            r"\d{4}\s?년\s?\d{1,2}\s?월(?:\s?\d{1,2}\s?일)?|\d{4}年\d{1,2}月(?:\d{1,2}日)?|"
            r"\d{4}[./-]\d{1,2}[./-]\d{1,2}|"
            r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{1,2},? \d{4}"
        ),
    ),
    (
        re.compile(
            r"\bprice|\bpricing|\bcosts?\b|"
            r"how much (?:is|does|do|will)\b(?!.*\b(?:faster|better|more|higher))"
            r"|\$|가격|요금|얼마야|얼마인|얼마예|얼마에요|价格|费用|多少钱|价钱|收费",
            re.I,
        ),
        re.compile(
            r"[$€£¥]\s?\d[\d,]*(?:\.\d+)?|"
            r"\d[\d,]*(?:\.\d+)?\s?(?:달러|원|美元|元|円|dollars?|USD|EUR|won|yuan)",
            re.I,
        ),
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
    sentence: Sentence
    figure: str | None
    cosine: float
    overlap: float


class ExtractiveAnswerer:
    """Sentence extraction over the retriever's top passages; no LLM needed.

    1. Only passages from articles that mention every name in the question
       (model, product, benchmark, with its version) may answer it.
    2. Each sentence of those passages is scored by its cosine to the question
       (centered per language, like retrieval), its lexical overlap, and the
       passage's retrieval score; when the question asks for a figure, only
       sentences holding a figure of that kind qualify.
    3. No qualifying sentence, or a best sentence whose cosine is below
       ``min_evidence``'s calibrated floor, means "not found".
    """

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

    def _not_found(self, question: str, confidence: float = 0.0) -> Answer:
        return Answer(question, NOT_FOUND[_lang_of(question)], [], True, confidence)

    def answer_from(self, question: str, retrieval: Retrieval) -> Answer:
        hits = retrieval.hits
        if not hits:
            return self._not_found(question)
        tok = self.index.tokenizer
        names = required_tokens(question, tok)
        usable = [
            i for i, h in enumerate(hits) if names <= retrieval.doc_names.get(h.chunk.doc_id, set())
        ][: self.passages_considered]
        if not usable:
            return self._not_found(question)
        figure_re = asked_figure(question)
        q_expanded = set(tok(question)) | {t for w in expand(question) for t in tok(w)}
        cos_by_lang = retrieval.language_offsets
        best_hit = hits[usable[0]].score or 1.0
        candidates: list[_Candidate] = []
        for rank, h_i in enumerate(usable):
            hit = hits[h_i]
            for s_i, sentence in enumerate(hit.chunk.sentences):
                s_row = s_i
                figure = None
                if figure_re is not None:
                    m = figure_re.search(sentence.text)
                    if m is None:
                        continue
                    figure = m.group(0).strip()
                raw = hit.sentence_scores[s_i] if hit.sentence_scores else 0.0
                cos = raw - cos_by_lang.get(hit.chunk.lang, 0.0)
                overlap = self._lexical_overlap(q_expanded, sentence.text)
                score = cos + 0.3 * overlap + 0.15 * (hit.score / best_hit) - 0.03 * rank
                if len(_WORD.findall(sentence.text)) < 6:
                    score -= 0.1  # a heading or a fragment is a poor answer
                candidates.append(_Candidate(score, h_i, s_row, sentence, figure, raw, overlap))
        if not candidates:
            return self._not_found(question)
        candidates.sort(key=lambda c: -c.score)
        top = candidates[0]
        confidence = self._confidence(top, bool(names), lexical_only=retrieval.query_vector is None)
        if confidence < self.min_evidence:
            return self._not_found(question, confidence)
        chosen = [top]
        for c in candidates[1:3]:
            if c.score >= top.score - 0.02 and c.sentence != top.sentence:
                chosen.append(c)
                break
        citations: list[Citation] = []
        parts: list[str] = []
        for c in chosen:
            hit = hits[c.hit_index]
            sentence = c.sentence
            n = next((cit.n for cit in citations if cit.chunk_id == hit.chunk.chunk_id), 0)
            if not n:
                n = len(citations) + 1
                citations.append(make_citation(n, hit.chunk, sentence))
            parts.append(f"{sentence.text.strip(' -*')} [{n}]")
        body = " ".join(parts)
        if top.figure:
            body = f"{top.figure} — {body}"
        return Answer(question, body, citations, False, confidence)

    def _lexical_overlap(self, query_tokens: set[str], sentence: str) -> float:
        if not query_tokens:
            return 0.0
        return len(query_tokens & set(self.index.tokenizer(sentence))) / len(query_tokens)

    def _confidence(self, top: _Candidate, named: bool, lexical_only: bool = False) -> float:
        """Evidence strength in [0, 1] from the best sentence's raw cosine.

        multilingual-e5 cosines of a question and an unrelated sentence sit
        around 0.70-0.76, of a sentence that answers it around 0.80-0.90. A
        question whose names all occur in the article gets a lower bar. Without
        embeddings (lexical mode) the share of the question's tokens found in
        the sentence stands in for the cosine.
        """
        if lexical_only:
            return float(np.clip(top.overlap / 0.3, 0.0, 1.0))
        floor = 0.70 if named else 0.76
        return float(np.clip((top.cosine - floor) / 0.12, 0.0, 1.0))
