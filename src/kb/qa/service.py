"""The application facade the CLI and the UI share: build, open, search, ask.

One ``KnowledgeBase`` per process owns the loaded models (``Models``:
embedders and Korean analyzer, each loaded once) and the live index;
``reload()`` swaps in a newer build without disturbing a query that is running
on the old one, reusing the models.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kb.errors import CorpusError, QueryError
from kb.index.build import BuildReport, Progress, build_index
from kb.index.layout import current_build
from kb.index.load import KnowledgeIndex, load_index
from kb.index.tokenize import TokenizerConfig
from kb.ingest.chunk import ChunkerConfig
from kb.ingest.instructions import cue_paths, load_cues
from kb.ingest.limits import IngestLimits
from kb.ingest.load import load_corpus
from kb.llm.clients import ChatClient, LLMConfig, make_client
from kb.models.base import Embedder
from kb.models.korean import KoreanMorphemes
from kb.models.loaded import Models, ModelSpec
from kb.models.second_encoder import wants_second
from kb.qa.answer import Answer
from kb.qa.extractive import ExtractiveAnswerer
from kb.qa.hits import Retrieval
from kb.qa.lexicon import load_lexicon
from kb.qa.pipeline import Encoders, PipelineOptions, build_pipeline
from kb.qa.retrieve import HybridRetriever
from kb.scripts import simplified
from kb.settings import Settings

if TYPE_CHECKING:
    from kb.qa.followup import AskResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexStatus:
    documents: int
    chunks: int
    sentences: int
    model: str
    built_at: str
    path: str

    def to_dict(self) -> dict[str, object]:
        return self.__dict__.copy()


def chunker_config(settings: Settings) -> ChunkerConfig:
    """Chunk sizes and per-file limits from ``settings``; instruction cues bundled
    plus the corpus folder's own ``kb_instruction_cues.json`` (CueFileError, an
    IngestError, when that file is unusable)."""
    return ChunkerConfig(
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        max_chunks=settings.max_chunks_per_file,
        max_sentences=settings.max_sentences_per_file,
        instructions=load_cues(cue_paths(settings.corpus_dir)),
    )


def check_query(text: str) -> str:
    """The query as kb reads it: stripped, traditional Chinese in simplified
    characters; an empty one is a one-line error."""
    query = simplified(text.strip())
    if not query:
        raise QueryError(
            'the query is empty: ask a question, e.g. kb ask "What is Claude Haiku 4.5\'s price?"'
        )
    return query


def model_spec(settings: Settings) -> ModelSpec:
    """Which models ``settings`` names."""
    return ModelSpec(
        model=settings.model,
        batch_size=settings.batch_size,
        cache_dir=settings.model_cache_dir,
        variant=settings.e5_variant,
        second=settings.second_model,
    )


class KnowledgeBase:
    """``models``: the process's loaded models to use (None: its own, per
    ``settings``; its main embedder is used whatever ``settings.model`` says,
    its second encoder unless ``settings.second_model`` is none);
    ``embedder`` / ``second`` / ``analyzer``: already loaded models to use
    instead of loading them (with ``models`` None)."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        mode: str = "hybrid",
        second: Embedder | None = None,
        models: Models | None = None,
        analyzer: KoreanMorphemes | None = None,
    ) -> None:
        if models is not None and any(m is not None for m in (embedder, second, analyzer)):
            raise ValueError("pass either models or embedder/second/analyzer, not both")
        self.settings = settings
        self.mode = mode
        self.models = models or Models(model_spec(settings), embedder, second, analyzer)
        self._lock = threading.Lock()
        self._state: tuple[KnowledgeIndex, HybridRetriever, ExtractiveAnswerer] | None = None
        self._llm: ChatClient | None = None  # issue 10: the chat client, made on first use
        self._llm_made = False

    @property
    def embedder(self) -> Embedder:
        return self.models.embedder

    @property
    def second(self) -> Embedder | None:
        """The second encoder (None when ``settings.second_model`` is none)."""
        return self.models.second if wants_second(self.settings.second_model) else None

    # ------------------------------------------------------------ building
    def build(self, rebuild: bool = False, progress: Progress | None = None) -> BuildReport:
        # IngestError (a CorpusError) reaches the front end as it is
        corpus = self.settings.corpus_dir
        docs, skipped = load_corpus(corpus, limits=IngestLimits.from_settings(self.settings))
        chunker = chunker_config(self.settings)
        if not docs:
            raise CorpusError(f"no .md, .txt or .html articles found in {self.settings.corpus_dir}")
        report = build_index(
            docs,
            self.settings.index_dir,
            self.embedder,
            chunker,
            skipped=skipped,
            rebuild=rebuild,
            # BM25 reads 클로드 as claude with the lexicon's aliases, the corpus's included
            tokenizer_config=TokenizerConfig(aliases=dict(load_lexicon(corpus).aliases)),
            progress=progress,
            second=self.second,
            analyzer=self.models.analyzer,
            build_threads=self.settings.build_threads,
            ann_threshold=self.settings.ann_threshold,
            chunk_vectors=self.settings.chunk_vectors,
        )
        self.reload()
        return report

    # ------------------------------------------------------------ opening
    def has_index(self) -> bool:
        return current_build(self.settings.index_dir) is not None

    def reload(self) -> None:
        """(Re)open the live build; queries already running keep the old one."""
        # the index first: a missing or damaged one (BadIndexError) is reported
        # before any model is loaded; then it must match the model (IndexMismatchError)
        index = load_index(self.settings.index_dir, analyzer=self.models.analyzer)
        index.manifest.check_model(self.embedder.model_id, self.embedder.weights_id)
        # the second encoder is loaded only when the index holds its vectors
        second = self.second if index.second_vectors is not None else None
        # LexiconError / AnswerModelError (KbErrors) reach the front end as they are
        pipeline = build_pipeline(
            index,
            Encoders(self.embedder, second),
            PipelineOptions.from_settings(self.settings, mode=self.mode),
        )
        retriever, answerer = pipeline.retriever, pipeline.answerer
        assert answerer is not None
        with self._lock:
            self._state = (index, retriever, answerer)

    def _current(self) -> tuple[KnowledgeIndex, HybridRetriever, ExtractiveAnswerer]:
        with self._lock:
            state = self._state
        if state is None:
            self.reload()
            with self._lock:
                state = self._state
            assert state is not None
        elif current_build(self.settings.index_dir) not in (None, state[0].path):
            self.reload()  # another process (kb index, the watcher) switched builds
            with self._lock:
                state = self._state
            assert state is not None
        return state

    @property
    def index(self) -> KnowledgeIndex:
        return self._current()[0]

    def status(self) -> IndexStatus:
        index = self.index
        m = index.manifest
        return IndexStatus(
            documents=m.counts.get("documents", 0),
            chunks=m.counts.get("chunks", 0),
            sentences=m.counts.get("sentences", 0),
            model=str(m.model.get("id")),
            built_at=m.created_at,
            path=str(index.path),
        )

    # ------------------------------------------------------------ querying
    def search(self, query: str, k: int | None = None) -> Retrieval:
        query = check_query(query)
        _, retriever, _ = self._current()
        return retriever.retrieve(query, k or self.settings.top_k)

    def retriever_for(self, mode: str) -> HybridRetriever:
        """A retriever of another mode (``kb search --mode``) over the live index
        and the models this KnowledgeBase already holds."""
        index, retriever, _ = self._current()
        if mode == retriever.mode:
            return retriever
        options = PipelineOptions.from_settings(self.settings, mode=mode, answer=False)
        return build_pipeline(index, Encoders(self.embedder, retriever.second), options).retriever

    def ask(self, question: str) -> Answer:
        question = check_query(question)
        _, retriever, answerer = self._current()
        return answerer.answer(question, retriever.retrieve(question, self.settings.answer_depth))

    # ------------------------------------------------------------ issue 10 hooks
    # (generated answers, follow-ups: kb/llm/, kb/qa/followup.py)
    def parts(self) -> tuple[HybridRetriever, ExtractiveAnswerer]:
        """The live retriever and extractive answerer."""
        _, retriever, answerer = self._current()
        return retriever, answerer

    def llm_client(self) -> ChatClient | None:
        """The chat client ``KB_LLM`` names (None for none), made once."""
        if not self._llm_made:
            self._llm = make_client(llm_config(self.settings))
            self._llm_made = True
        return self._llm

    def converse(self, question: str, history: object = None, k: int | None = None) -> AskResult:
        """Answer ``question`` after the conversation ``history`` (the CLI, the API
        and the UI all come here)."""
        from kb.qa.followup import ask

        return ask(self, check_query(question), history, k)


def llm_config(settings: Settings) -> LLMConfig:
    return LLMConfig(
        provider=settings.llm or "none",
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key,
        timeout=settings.llm_timeout,
        retries=settings.llm_retries,
    )


def ensure_index(kb: KnowledgeBase, progress: Progress | None = None) -> BuildReport | None:
    """Build the index when there is none (``kb serve`` on a fresh checkout)."""
    if kb.has_index():
        return None
    log.info("no index at %s: building it from %s", kb.settings.index_dir, kb.settings.corpus_dir)
    return kb.build(progress=progress)
