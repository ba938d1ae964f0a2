"""Unit tier: the error base, the pipeline factory and `kb search --mode`, on the
tiny fixture corpus with the deterministic fake embedder (no model load)."""

from __future__ import annotations

import inspect
import io
from pathlib import Path

import pytest
from conftest import FIXTURES, FakeEmbedder

from kb import cli, errors
from kb.errors import KbError, QueryError
from kb.models.korean import KoreanMorphemes
from kb.qa.pipeline import Encoders, PipelineOptions, build_pipeline
from kb.qa.service import KnowledgeBase
from kb.settings import Settings


def test_every_error_derives_from_kb_error() -> None:
    classes = [
        c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__
    ]
    assert len(classes) >= 15
    for cls in classes:
        assert issubclass(cls, KbError), cls


@pytest.fixture()
def fake_kb(
    tmp_path: Path, fake_embedder: FakeEmbedder, analyzer: KoreanMorphemes
) -> KnowledgeBase:
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "tiny", corpus)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", second_model="none")
    kb = KnowledgeBase(settings, embedder=fake_embedder, analyzer=analyzer)
    kb.build()
    return kb


def test_pipeline_factory_builds_retriever_and_answerer(fake_kb: KnowledgeBase) -> None:
    index = fake_kb.index
    options = PipelineOptions.from_settings(fake_kb.settings)
    p = build_pipeline(index, Encoders(fake_kb.embedder), options)
    assert p.index is index and p.answerer is not None
    hits = p.retriever.retrieve("bike rental price per day", 3).hits
    assert hits and hits[0].chunk.source.startswith("bike-shop")

    lexical = build_pipeline(
        index,
        Encoders(None),
        PipelineOptions.from_settings(fake_kb.settings, mode="lexical", answer=False),
    )
    assert lexical.answerer is None and lexical.retriever.weights == {"lexical": 1.0}


def test_search_mode_reuses_the_knowledge_base(fake_kb: KnowledgeBase) -> None:
    hybrid = fake_kb.retriever_for("hybrid")
    lexical = fake_kb.retriever_for("lexical")
    assert hybrid.mode == "hybrid" and lexical.mode == "lexical"
    assert lexical.index is hybrid.index  # same loaded index, no second KnowledgeBase
    assert fake_kb.embedder.calls > 0  # type: ignore[attr-defined]


def test_query_error_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(QueryError):
        KnowledgeBase(Settings()).ask("   ")
    rc = cli.main(["ask", " "], out=io.StringIO())
    assert rc == cli.EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert err.startswith("kb: error: the query is empty") and err.count("\n") == 1


def test_corpus_lexicon_aliases_reach_the_index_tokenizer(
    tmp_path: Path, fake_embedder: FakeEmbedder, analyzer: KoreanMorphemes
) -> None:
    """One list of transliterations: the corpus lexicon's aliases are what BM25
    tokenizes with (saved in the manifest), the packaged ones included."""
    import json
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "tiny", corpus)
    (corpus / "lexicon.json").write_text(
        json.dumps({"aliases": {"오리온": "orion"}}), encoding="utf-8"
    )
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", second_model="none")
    kb = KnowledgeBase(settings, embedder=fake_embedder, analyzer=analyzer)
    kb.build()
    tokenizer = kb.index.tokenizer
    assert "orion" in tokenizer("오리온 2의 가격")
    assert tokenizer.config.aliases["클로드"] == "claude"
