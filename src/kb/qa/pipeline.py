"""The one place a query pipeline is assembled: index + encoders + options ->
retriever and answerer.

Used by the app (qa/service.py), ``kb eval`` (evaluation/runner.py) and the
benchmark scripts, so they all ask the same questions of the same stages.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from kb.index.fields import SECOND_SENTENCES
from kb.index.load import KnowledgeIndex
from kb.models.embed import Embedder
from kb.qa.calibration import load_answer_model
from kb.qa.extractive import FEATURES, ExtractiveAnswerer
from kb.qa.lexicon import load_lexicon
from kb.qa.retrieve import HybridRetriever

if TYPE_CHECKING:
    from kb.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Encoders:
    """The query-side models: the main embedder (None: lexical only) and the
    optional second encoder of sentence vectors."""

    embedder: Embedder | None
    second: Embedder | None = None


@dataclass(frozen=True)
class PipelineOptions:
    """How to retrieve and answer. ``weights`` are the fusion weights (the app's
    come from Settings.weights); ``lexicon_dir`` is the corpus folder whose
    lexicon.json is merged over the packaged one (None: packaged only);
    ``answer=False`` builds no answerer (retrieval-only runs);
    ``check_features=False`` accepts an answer model fitted on other features
    (benchmarks/fit_answer_model.py refits it)."""

    weights: Mapping[str, float]
    mode: str = "hybrid"
    center_languages: bool = True
    expand_query: bool = True
    passages: int = 5
    lexicon_dir: Path | None = None
    answer: bool = True
    check_features: bool = True
    query_threads: int = 1  # torch/FAISS/BLAS threads per query (Settings.query_threads)
    weight_changes: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, **changes: object) -> PipelineOptions:
        base = cls(
            weights=dict(settings.weights),
            passages=settings.top_k,
            lexicon_dir=settings.corpus_dir,
            query_threads=settings.query_threads,
        )
        return replace(base, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Pipeline:
    index: KnowledgeIndex
    retriever: HybridRetriever
    answerer: ExtractiveAnswerer | None


def usable_second(index: KnowledgeIndex, second: Embedder | None) -> Embedder | None:
    """The second encoder when the index holds its vectors and they were made by
    the same weights (otherwise it sits out until the next build)."""
    if second is None or index.second_vectors is None:
        return None
    record = index.manifest.embedder_of(SECOND_SENTENCES.name)
    built = record.get("id")
    if record.get("weights") != second.weights_id:
        log.warning(
            "index sentences were embedded by %s, not %s: second encoder off until "
            "the next `kb index`",
            built,
            second.model_id,
        )
        return None
    return second


def build_pipeline(index: KnowledgeIndex, encoders: Encoders, options: PipelineOptions) -> Pipeline:
    """Retriever (and answerer unless ``options.answer`` is False) over ``index``.
    Raises LexiconError / AnswerModelError (KbErrors) for unusable data files."""
    lexicon = load_lexicon(options.lexicon_dir)
    retriever = HybridRetriever(
        index,
        encoders.embedder if options.mode != "lexical" else None,
        weights={**options.weights, **options.weight_changes},
        mode=options.mode,
        center_languages=options.center_languages,
        expand_query=options.expand_query,
        second=usable_second(index, encoders.second),
        lexicon=lexicon,
        query_threads=options.query_threads,
    )
    answerer = None
    if options.answer:
        model = load_answer_model(expected=FEATURES if options.check_features else None)
        answerer = ExtractiveAnswerer(index.tokenizer, lexicon, model, passages=options.passages)
    return Pipeline(index, retriever, answerer)
