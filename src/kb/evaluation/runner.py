"""Run an evaluation set against several retrieval modes over one scratch index.

The index is built in ``work_dir`` (never the app's index directory); building
again into the same ``work_dir`` reuses its embeddings, so a second run of a
benchmark skips the slow part. Query vectors are computed once per question and
shared by every dense mode; each mode's latency still includes that
question's embedding time.
"""

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kb.errors import EvalError
from kb.evaluation.datasets import EvalSet
from kb.evaluation.metrics import METRICS
from kb.evaluation.modes import ModeSpec
from kb.evaluation.scoring import ModeResult, score_query, summarize
from kb.evaluation.scratch import (
    IndexInfo,
    NullEmbedder,
    QueryVectorCache,
    evidence_coverage,
    index_dir_for,
)
from kb.index.build import Progress, build_index
from kb.index.load import KnowledgeIndex, load_index
from kb.index.tokenize import TokenizerConfig
from kb.ingest.chunk import ChunkerConfig
from kb.ingest.load import load_corpus
from kb.models.embed import Embedder
from kb.models.korean import KoreanMorphemes
from kb.qa.calibration import load_answer_model
from kb.qa.extractive import FEATURES
from kb.qa.lexicon import load_lexicon
from kb.qa.pipeline import Encoders, PipelineOptions, build_pipeline
from kb.settings import Settings

log = logging.getLogger(__name__)

# ticker(stage, done, total): question progress per mode
Ticker = Callable[[str, int, int], None]


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
    lexicon = load_lexicon(settings.corpus_dir if evalset.format == "gold" else None)
    report = build_index(
        docs,
        index_dir,
        embedder,
        chunker,
        tokenizer_config=TokenizerConfig(aliases=dict(lexicon.aliases)),
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
    depth = max(k, settings.answer_depth)
    out = ModeResult(spec)
    total = len(evalset.queries)
    for n, q in enumerate(evalset.queries, start=1):
        caches = [c for c in (embedder, second) if c is not None]
        for c in caches:
            c.replayed = 0.0
        t0 = time.perf_counter()
        retrieval = retriever.retrieve(q.text, depth)
        seconds = time.perf_counter() - t0 + sum(c.replayed for c in caches)
        out.queries.append(score_query(evalset, q, retrieval, k, seconds, answerer, sources))
        if ticker:
            ticker(spec.name, n, total)
    return out


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
