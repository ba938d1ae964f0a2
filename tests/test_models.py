"""The loaded models belong to their owner (models/loaded.py): a KnowledgeBase
passes its embedder and Korean analyzer to the build and the loader, a reload
after a re-index loads nothing again, and nothing is cached at module level.
Unit tier: a fake embedder and the session's analyzer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, FakeEmbedder

from kb.models.korean import KoreanMorphemes
from kb.models.loaded import Models, ModelSpec
from kb.qa.service import KnowledgeBase, model_spec
from kb.settings import Settings


def _kb(tmp_path: Path, models: Models, **changes: object) -> KnowledgeBase:
    corpus = tmp_path / "corpus"
    if not corpus.exists():
        shutil.copytree(FIXTURES / "tiny", corpus)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", **changes)  # type: ignore[arg-type]
    return KnowledgeBase(settings, models=models)


def test_build_and_reload_share_the_owners_models(
    tmp_path: Path, analyzer: KoreanMorphemes
) -> None:
    fake = FakeEmbedder()
    models = Models(ModelSpec(second="none"), fake, analyzer=analyzer)
    kb = _kb(tmp_path, models, second_model="none")
    kb.build()
    first = kb.index
    # the index's tokenizer uses the KnowledgeBase's analyzer, warmed when it opened
    assert first.tokenizer._morphemes is analyzer and analyzer.loaded
    kiwi = analyzer._kiwi
    calls = fake.calls
    new = "# Ocean Museum\n\nAn adult ticket to the Ocean Museum costs 12 euros.\n"
    (kb.settings.corpus_dir / "ocean-museum.en.md").write_text(new, encoding="utf-8")
    assert kb.build().chunks_embedded > 0  # re-index, then reload
    assert kb.index is not first and kb.index.tokenizer._morphemes is analyzer
    assert analyzer._kiwi is kiwi  # not loaded again
    assert kb.embedder is fake and fake.calls > calls  # the same embedder did the work
    assert kb.search("bike rental price per day", 3).hits


def test_models_load_on_first_use_and_are_shared(analyzer: KoreanMorphemes) -> None:
    fake, second = FakeEmbedder(), FakeEmbedder(dim=16, model_id="fake:second")
    models = Models(ModelSpec(model="no-such-model"), fake, second, analyzer)
    assert models.embedder is fake and models.second is second  # given: nothing loaded
    other = models.with_embedder(FakeEmbedder(dim=8))
    assert other.second is second and other.analyzer is analyzer and other.spec == models.spec
    none = Models(ModelSpec(second="none"), fake)
    assert none.second is None and none.analyzer is not analyzer  # its own analyzer


def test_the_settings_decide_whether_the_second_encoder_is_used(
    tmp_path: Path, analyzer: KoreanMorphemes
) -> None:
    second = FakeEmbedder(dim=16, model_id="fake:second")
    models = Models(ModelSpec(), FakeEmbedder(), second, analyzer)
    assert _kb(tmp_path, models).second is second
    assert _kb(tmp_path, models, second_model="none").second is None


def test_models_or_embedders_not_both(tmp_path: Path) -> None:
    settings = Settings(corpus_dir=tmp_path, index_dir=tmp_path / "index")
    models = Models(model_spec(settings), FakeEmbedder())
    with pytest.raises(ValueError, match="not both"):
        KnowledgeBase(settings, embedder=FakeEmbedder(), models=models)
    assert model_spec(settings) == ModelSpec(
        settings.model,
        settings.batch_size,
        settings.model_cache_dir,
        settings.e5_variant,
        settings.second_model,
    )


def test_no_module_level_model_caches() -> None:
    import kb.index.tokenize as tokenize
    import kb.models.embed as embed
    import kb.models.korean as korean

    assert not hasattr(embed, "_CACHE")
    assert not hasattr(tokenize.Tokenizer, "_kiwi")
    assert not any(isinstance(v, KoreanMorphemes) for v in vars(korean).values())
    assert KoreanMorphemes() is not KoreanMorphemes()
