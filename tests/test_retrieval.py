"""Retrieval and answers on the real corpus with the real (bundled) model."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.index import chunk_vectors as chunkvec
from kb.index.fields import chunk_embed_text, second_sentence_text, sentence_embed_text
from kb.qa.service import KnowledgeBase

SWE_QUESTIONS = [
    "What is Claude Haiku 4.5's SWE-bench Verified score?",
    "Claude Haiku 4.5의 SWE-bench Verified 점수는 얼마인가요?",
    "Claude Haiku 4.5在SWE-bench Verified上的得分是多少？",
]


def _source_text(kb: KnowledgeBase, source: str) -> str:
    return (Path(kb.settings.corpus_dir) / source).read_bytes().decode("utf-8")


@pytest.mark.parametrize("question", SWE_QUESTIONS)
def test_swe_bench_passage_found_in_every_language(corpus_kb: KnowledgeBase, question: str) -> None:
    hits = corpus_kb.search(question, 5).hits
    assert any("73.3%" in h.chunk.raw and "SWE-bench" in h.chunk.raw for h in hits)
    # and the top hit is the Haiku 4.5 article, not Claude 3.5 Haiku's 40.6%
    assert hits[0].chunk.doc_id == "claude-haiku-4.5.zh"


@pytest.mark.parametrize(
    ("question", "expected", "doc"),
    [
        ("Claude 3.5 Haiku SWE-bench Verified score?", "40.6%", "claude-3.5-haiku.ko"),
        ("클로드 3.5 하이쿠 SWE-bench 점수", "40.6%", "claude-3.5-haiku.ko"),
        ("하이쿠 4.5 SWE-bench 점수", "73.3%", "claude-haiku-4.5.zh"),
    ],
)
def test_near_identical_model_names_are_not_confused(
    corpus_kb: KnowledgeBase, question: str, expected: str, doc: str
) -> None:
    top = corpus_kb.search(question, 3).hits[0]
    assert top.chunk.doc_id == doc
    assert expected in top.chunk.raw


def test_every_hit_satisfies_the_offset_contract(corpus_kb: KnowledgeBase) -> None:
    questions = [*SWE_QUESTIONS, "Claude 3.5 Sonnet 安全", "하이쿠 가격", "Artifacts collaboration"]
    for q in questions:
        for h in corpus_kb.search(q, 10).hits:
            text = _source_text(corpus_kb, h.chunk.source)
            assert text[h.chunk.start : h.chunk.end] == h.chunk.raw


@pytest.mark.parametrize("question", SWE_QUESTIONS)
def test_ask_gives_the_figure_with_a_citation_that_contains_the_quote(
    corpus_kb: KnowledgeBase, question: str
) -> None:
    answer = corpus_kb.ask(question)
    assert not answer.abstained
    assert "73.3%" in answer.lead
    assert "[1]" in answer.text
    c = answer.citations[0]
    source = _source_text(corpus_kb, c.source)
    assert source[c.start : c.end] == c.passage
    assert source[c.quote_start : c.quote_end] == c.quote
    assert c.quote in c.passage and "73.3%" in c.quote


@pytest.mark.parametrize(
    "question",
    [
        "What is GPT-5's API price?",
        "제미나이의 SWE-bench 점수는?",
        "Claude Opus 4 的价格是多少?",
        "When was Claude Haiku 4.5 released?",
    ],
)
def test_ask_abstains_when_the_corpus_lacks_the_answer(
    corpus_kb: KnowledgeBase, question: str
) -> None:
    answer = corpus_kb.ask(question)
    assert answer.abstained
    assert answer.citations == []


@pytest.mark.parametrize(
    ("question", "figure"),
    [
        ("Haiku 4.5 input price per million tokens?", "1美元"),
        ("클로드 하이쿠 4.5의 안전 등급은?", "ASL-2"),
        ("Claude 3.5 Haiku는 언제 공개됐어?", "2024년 10월 23일"),
    ],
)
def test_ask_extracts_the_figure_asked_for(
    corpus_kb: KnowledgeBase, question: str, figure: str
) -> None:
    answer = corpus_kb.ask(question)
    assert not answer.abstained
    assert figure in answer.text


def test_modes_differ_and_lexical_needs_no_query_vector(corpus_kb: KnowledgeBase) -> None:
    lexical = KnowledgeBase(corpus_kb.settings, mode="lexical", models=corpus_kb.models)
    r = lexical.search("SWE-bench Verified 73.3%", 3)
    assert r.query_vector is None and r.hits
    assert any("73.3%" in h.chunk.raw for h in r.hits)
    assert set(r.hits[0].scores) == {"lexical"}
    hybrid = corpus_kb.search("SWE-bench Verified 73.3%", 3)
    assert {"dense", "sentence", "lexical", "entity"} <= set(hybrid.hits[0].scores)


def test_second_encoder_scores_every_sentence(corpus_kb: KnowledgeBase) -> None:
    index = corpus_kb.index
    assert index.second_vectors is not None
    assert index.second_vectors.ntotal == index.sentence_vectors.ntotal
    assert str(index.manifest.embedder_of("second_sentences")["id"]).startswith("use3:")
    assert index.manifest.embedder_of("second_sentences")["dim"] == index.second_vectors.d == 512
    hits = corpus_kb.search("Claude 3.5 Haiku 可以通过哪些平台调用?", 5).hits
    assert all(0.0 <= h.scores["second"] <= 1.0 for h in hits)


@pytest.mark.parametrize("recipe", [chunkvec.PASS, "weighted"])
def test_second_encoder_is_optional_and_added_incrementally(
    tiny_corpus: Path, tmp_path: Path, corpus_kb: KnowledgeBase, recipe: str
) -> None:
    base = corpus_kb.settings.replace(
        corpus_dir=tiny_corpus, index_dir=tmp_path / "index", chunk_vectors=recipe
    )
    without = KnowledgeBase(base.replace(second_model="none"), models=corpus_kb.models)
    first = without.build()
    assert (
        without.index.second_vectors is None
        and without.index.manifest.embedder_of("second_sentences") == {}
    )
    assert "second" not in without.search("green tea", 3).hits[0].scores
    chunks = without.index.chunks
    sentences = without.index.sentence_vectors.ntotal
    # the main encoder embeds every sentence; the chunk text only under the `pass`
    # recipe (a derived recipe embeds just the chunks that have no sentences)
    whole = recipe == chunkvec.PASS
    main_texts = {sentence_embed_text(c, s) for c in chunks for s in c.sentences}
    main_texts |= {chunk_embed_text(c) for c in chunks if whole or not c.sentences}
    second_texts = {second_sentence_text(c, s) for c in chunks for s in c.sentences}
    assert first.chunks_embedded == len(main_texts) > 0

    # turning it on embeds the sentences with the second encoder and nothing else
    with_second = KnowledgeBase(base, models=corpus_kb.models)
    second = with_second.build()
    assert second.chunks_embedded == len(second_texts)
    assert 0 < second.chunks_embedded <= sentences
    assert with_second.index.second_vectors is not None
    assert "second" in with_second.search("green tea", 3).hits[0].scores
    assert with_second.build().chunks_embedded == 0
