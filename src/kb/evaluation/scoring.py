"""Scoring an evaluation: one question's ranked items and answer checks, and one
mode's summary (metrics, per language, latency, documents, answers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kb.evaluation.answers import AnswerRow, contains_key, holds_evidence, summarize_answers
from kb.evaluation.datasets import EvalQuery, EvalSet
from kb.evaluation.metrics import (
    dedupe,
    evaluate,
    evaluate_by_group,
    first_relevant_rank,
    latency_summary,
)
from kb.evaluation.modes import ModeSpec
from kb.qa.cite import quote_matches
from kb.qa.extractive import ExtractiveAnswerer
from kb.qa.hits import Retrieval


@dataclass
class QueryResult:
    qid: str
    ranked: list[str]  # qrels items, best first, de-duplicated
    docs: list[str]  # document ids, best first, de-duplicated (gold)
    seconds: float
    abstained: bool | None = None
    confidence: float | None = None
    answer: AnswerRow | None = None


@dataclass
class ModeResult:
    spec: ModeSpec
    queries: list[QueryResult] = field(default_factory=list)


def score_query(
    evalset: EvalSet,
    q: EvalQuery,
    retrieval: Retrieval,
    k: int,
    seconds: float,
    answerer: ExtractiveAnswerer | None,
    sources: dict[str, str] | None = None,
) -> QueryResult:
    hits = retrieval.hits[:k]
    ranked = dedupe(evalset.item_of(h.chunk, q) for h in hits)
    docs = dedupe(h.chunk.doc_id for h in hits)
    result = QueryResult(q.qid, ranked, docs, seconds)
    if answerer is not None:
        # the answerer reads the top passages only, so the deeper retrieval is reused as is
        answer = answerer.answer(q.text, retrieval)
        result.abstained = answer.abstained
        result.confidence = answer.confidence
        first = answer.citations[0] if answer.citations else None
        texts = sources or {}
        result.answer = AnswerRow(
            qid=q.qid,
            lang=q.lang,
            qtype=q.qtype,
            answerable=q.answerable,
            trap=q.trap,
            has_keys=bool(q.answer_keys),
            key_hit=not answer.abstained and contains_key(answer.text, q.answer_keys),
            abstained=answer.abstained,
            first_holds_evidence=(
                holds_evidence(first.passage, q.evidence)
                if first is not None and q.evidence
                else None
            ),
            quotes_exact=all(
                quote_matches(texts.get(c.source, "")[c.quote_start : c.quote_end], c.quote)
                and texts.get(c.source, "")[c.start : c.end] == c.passage
                for c in answer.citations
            ),
        )
    return result


def summarize(evalset: EvalSet, result: ModeResult) -> dict[str, Any]:
    """Metrics, per-language metrics, latency and (gold) abstention for one mode."""
    judged = {q.qid: q.qrels for q in evalset.queries if q.qrels}
    run = {r.qid: r.ranked for r in result.queries}
    lang_of = {q.qid: q.lang for q in evalset.queries}
    summary: dict[str, Any] = {
        "options": result.spec.options(),
        "metrics": evaluate(judged, run),
        "by_lang": evaluate_by_group(judged, run, lang_of),
        "latency_ms": latency_summary([r.seconds for r in result.queries]),
    }
    misses = [
        r.qid
        for r in result.queries
        if r.qid in judged and first_relevant_rank(r.ranked, judged[r.qid]) is None
    ]
    summary["missed_at_k"] = misses
    if evalset.format == "gold":
        doc_qrels = {
            q.qid: {d: 1 for d in q.doc_ids} for q in evalset.queries if q.answerable and q.doc_ids
        }
        doc_run = {r.qid: r.docs for r in result.queries}
        summary["doc_metrics"] = evaluate(
            doc_qrels, doc_run, ("recall@1", "recall@5", "recall@10", "mrr@10")
        )
        rows = [r.answer for r in result.queries if r.answer is not None]
        if rows:
            summary["answers"] = summarize_answers(rows)
    return summary
