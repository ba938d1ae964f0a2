"""Run an evaluation set against several retrieval modes over one scratch index.

The index is built in ``work_dir`` (never the app's index directory); building
again into the same ``work_dir`` reuses its embeddings, so a second run of a
benchmark skips the slow part. Query vectors are computed once per question and
shared by every dense mode; each mode's latency still includes that
question's embedding time.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kb.errors import EvalError
from kb.evaluation.answers import AnswerRow, contains_key, holds_evidence, summarize_answers
from kb.evaluation.datasets import EvalQuery, EvalSet
from kb.evaluation.metrics import (
    METRICS,
    dedupe,
    evaluate,
    evaluate_by_group,
    first_relevant_rank,
    latency_summary,
)
from kb.index.build import Progress, build_index
from kb.index.load import KnowledgeIndex, load_index
from kb.ingest.chunk import ChunkerConfig
from kb.ingest.load import load_corpus
from kb.models.embed import DelegatingEmbedder, Embedder
from kb.models.korean import KoreanMorphemes
from kb.qa.calibration import load_answer_model
from kb.qa.cite import quote_matches
from kb.qa.extractive import FEATURES, ExtractiveAnswerer
from kb.qa.pipeline import Encoders, PipelineOptions, build_pipeline
from kb.qa.retrieve import Retrieval
from kb.settings import Settings

log = logging.getLogger(__name__)

# ticker(stage, done, total): question progress per mode
Ticker = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ModeSpec:
    """One retrieval configuration, expressed as HybridRetriever options."""

    name: str
    mode: str
    center_languages: bool = True
    expand_query: bool = True
    # fusion weights changed from the settings' (e.g. {"entity": 0.0})
    weight_changes: dict[str, float] | None = None

    def options(self) -> dict[str, object]:
        out: dict[str, object] = {
            "mode": self.mode,
            "center_languages": self.center_languages,
            "expand_query": self.expand_query,
        }
        if self.weight_changes is not None:
            out["weight_changes"] = dict(self.weight_changes)
        return out


VARIANTS: dict[str, ModeSpec] = {
    s.name: s
    for s in (
        ModeSpec("lexical", "lexical"),
        ModeSpec("dense", "dense"),
        ModeSpec("hybrid", "hybrid"),
        ModeSpec("hybrid-nocenter", "hybrid", center_languages=False),
        ModeSpec("hybrid-noexpand", "hybrid", expand_query=False),
        ModeSpec("hybrid-nosentence", "hybrid", weight_changes={"sentence": 0.0}),
        ModeSpec("hybrid-noentity", "hybrid", weight_changes={"entity": 0.0}),
        ModeSpec("hybrid-nosecond", "hybrid", weight_changes={"second": 0.0}),
        ModeSpec("dense-nocenter", "dense", center_languages=False),
        ModeSpec("lexical-noexpand", "lexical", expand_query=False),
    )
}
DEFAULT_MODES = (
    "lexical",
    "dense",
    "hybrid",
    "hybrid-nocenter",
    "hybrid-noexpand",
    "hybrid-noentity",
)


def parse_modes(text: str) -> list[ModeSpec]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise EvalError("--modes is empty")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise EvalError(f"unknown mode {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    return [VARIANTS[n] for n in dedupe(names)]


class QueryVectorCache(DelegatingEmbedder):
    """An Embedder that computes each query vector once and remembers how long
    that took; ``replayed`` adds up the time of vectors served from memory so a
    mode's latency can include its (shared) query embedding."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self._cache: dict[str, tuple[np.ndarray, float]] = {}
        self.replayed = 0.0

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for t in texts:
            hit = self._cache.get(t)
            if hit is None:
                t0 = time.perf_counter()
                vec = self.inner.encode_queries([t])[0]
                hit = (vec, time.perf_counter() - t0)
                self._cache[t] = hit
            else:
                self.replayed += hit[1]
            rows.append(hit[0])
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack(rows).astype(np.float32)


class NullEmbedder:
    """Stands in for a model when every evaluated mode is lexical: the index
    still gets (constant, meaningless) vectors, so building costs no embedding."""

    model_id = "none:lexical-only"
    weights_id = "none:lexical-only"
    dim = 8
    prompts: dict[str, str] = {"query": "", "passage": ""}  # noqa: RUF012

    def _zeros(self, n: int) -> np.ndarray:
        out = np.zeros((n, self.dim), dtype=np.float32)
        out[:, 0] = 1.0
        return out

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._zeros(len(texts))

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        if progress:
            progress(len(texts))
        return self._zeros(len(texts))


@dataclass
class IndexInfo:
    path: str
    seconds: float
    texts_embedded: int
    texts_reused: int
    documents: int
    chunks: int
    sentences: int
    skipped: int

    def to_dict(self) -> dict[str, object]:
        return {**self.__dict__, "seconds": round(self.seconds, 3)}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "x"


def index_dir_for(
    evalset: EvalSet, settings: Settings, model_name: str, work_dir: Path, chunker: ChunkerConfig
) -> Path:
    """One scratch index per (corpus, model, chunking) under ``work_dir``."""
    corpus = (
        f"corpus-{_slug(settings.corpus_dir.resolve().name)}"
        if evalset.documents is None
        else (f"{evalset.format}-{_slug(evalset.name)}")
    )
    return (
        work_dir / f"{corpus}--{_slug(model_name)}--c{chunker.chunk_size}-{chunker.chunk_overlap}"
    )


def prepare_index(
    evalset: EvalSet,
    settings: Settings,
    embedder: Embedder,
    work_dir: Path,
    chunker: ChunkerConfig,
    progress: Progress | None = None,
    second: Embedder | None = None,
) -> tuple[KnowledgeIndex, IndexInfo, dict[str, str]]:
    """Build (or refresh) the scratch index for ``evalset`` and open it; also returns
    each document's source text (to check citation offsets against)."""
    if evalset.documents is None:
        docs, skipped_files = load_corpus(settings.corpus_dir)
        if not docs:
            raise EvalError(f"no articles found in {settings.corpus_dir}")
        skipped = len(skipped_files)
    else:
        docs, skipped = evalset.documents, evalset.skipped_documents
    model_name = "lexical-only" if isinstance(embedder, NullEmbedder) else settings.model
    index_dir = index_dir_for(evalset, settings, model_name, work_dir, chunker)
    analyzer = KoreanMorphemes()  # one Korean analyzer for the build and the index it opens
    report = build_index(
        docs,
        index_dir,
        embedder,
        chunker,
        progress=progress,
        second=second,
        analyzer=analyzer,
        chunk_vectors=settings.chunk_vectors,
    )
    index = load_index(index_dir, embedder, analyzer)
    info = IndexInfo(
        path=str(index_dir),
        seconds=report.seconds,
        texts_embedded=report.chunks_embedded,
        texts_reused=report.chunks_reused,
        documents=report.documents,
        chunks=report.chunks,
        sentences=int(index.sentence_vectors.ntotal),
        skipped=skipped,
    )
    return index, info, {d.source: d.text for d in docs}


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


def run_mode(
    evalset: EvalSet,
    index: KnowledgeIndex,
    embedder: QueryVectorCache | None,
    spec: ModeSpec,
    settings: Settings,
    k: int,
    ticker: Ticker | None = None,
    second: QueryVectorCache | None = None,
    sources: dict[str, str] | None = None,
) -> ModeResult:
    gold = evalset.format == "gold"
    pipeline = build_pipeline(
        index,
        Encoders(embedder, second),
        PipelineOptions.from_settings(
            settings,
            mode=spec.mode,
            weight_changes=dict(spec.weight_changes or {}),
            center_languages=spec.center_languages,
            expand_query=spec.expand_query,
            lexicon_dir=settings.corpus_dir if gold else None,
            answer=gold,
        ),
    )
    retriever, answerer = pipeline.retriever, pipeline.answerer
    depth = max(k, settings.top_k)
    out = ModeResult(spec)
    total = len(evalset.queries)
    for n, q in enumerate(evalset.queries, start=1):
        caches = [c for c in (embedder, second) if c is not None]
        for c in caches:
            c.replayed = 0.0
        t0 = time.perf_counter()
        retrieval = retriever.retrieve(q.text, depth)
        seconds = time.perf_counter() - t0 + sum(c.replayed for c in caches)
        out.queries.append(_score_query(evalset, q, retrieval, k, seconds, answerer, sources))
        if ticker:
            ticker(spec.name, n, total)
    return out


def _score_query(
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


def evidence_coverage(evalset: EvalSet, index: KnowledgeIndex) -> list[str]:
    """Answerable gold questions whose evidence no indexed chunk contains."""
    if evalset.format != "gold":
        return []
    missing = []
    for q in evalset.queries:
        if q.answerable and not any(evalset.is_relevant(c, q) for c in index.chunks):
            missing.append(q.qid)
    return missing


def run_eval(
    evalset: EvalSet,
    settings: Settings,
    embedder: Embedder,
    specs: Sequence[ModeSpec],
    work_dir: Path,
    chunker: ChunkerConfig,
    k: int = 10,
    progress: Progress | None = None,
    ticker: Ticker | None = None,
    second: Embedder | None = None,
) -> dict[str, Any]:
    """Build the scratch index, run every mode, and return the JSON-able report."""
    if k < 1:
        raise EvalError("-k must be at least 1")
    index, info, sources = prepare_index(
        evalset, settings, embedder, work_dir, chunker, progress, second
    )
    cache = QueryVectorCache(embedder)
    second_cache = QueryVectorCache(second) if second is not None else None
    modes: dict[str, Any] = {}
    for spec in specs:
        log.info("evaluating mode %s on %d questions", spec.name, len(evalset.queries))
        result = run_mode(evalset, index, cache, spec, settings, k, ticker, second_cache, sources)
        modes[spec.name] = summarize(evalset, result)
    langs: dict[str, int] = {}
    for q in evalset.queries:
        langs[q.lang] = langs.get(q.lang, 0) + 1
    return {
        "dataset": {
            "name": evalset.name,
            "format": evalset.format,
            "questions": len(evalset.queries),
            "judged": sum(1 for q in evalset.queries if q.qrels),
            "unanswerable": sum(1 for q in evalset.queries if not q.answerable),
            "languages": dict(sorted(langs.items())),
            "evidence_not_in_corpus": evidence_coverage(evalset, index),
        },
        "settings": {
            "model": embedder.model_id,
            "second_model": second.model_id if second is not None else None,
            "chunk_size": chunker.chunk_size,
            "chunk_overlap": chunker.chunk_overlap,
            "k": k,
            "weights": settings.weights,
            "answer_model": load_answer_model(expected=FEATURES).fitted_on,
            "top_k": settings.top_k,
        },
        "index": info.to_dict(),
        "metrics": list(METRICS),
        "modes": modes,
    }
