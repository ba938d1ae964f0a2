"""Pure functions, checked against numbers computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from kb.index.lexical import BM25Index, BM25Params
from kb.index.tokenize import Tokenizer, TokenizerConfig
from kb.models.korean import KoreanMorphemes
from kb.qa.entities import required_tokens
from kb.qa.fuse import (
    center_by_group,
    max_by_group,
    max_scale,
    minmax,
    reciprocal_rank_fusion,
    weighted_sum,
)
from kb.qa.glossary import expand
from kb.qa.lexicon import load_lexicon


def test_minmax_and_max_scale() -> None:
    assert minmax(np.array([2.0, 4.0, 3.0])).tolist() == [0.0, 1.0, 0.5]
    assert minmax(np.array([1.0, 1.0])).tolist() == [0.0, 0.0]
    assert max_scale(np.array([0.0, 2.0, 1.0])).tolist() == [0.0, 1.0, 0.5]


def test_center_by_group_removes_language_offset() -> None:
    # ko passages score 0.2 higher across the board: centering removes it
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    groups = np.array(["ko", "ko", "zh", "zh"])
    out = center_by_group(scores, groups)
    # overall mean 0.75; ko mean 0.85, zh mean 0.65
    assert out.tolist() == pytest.approx([0.8, 0.7, 0.8, 0.7])


def test_weighted_sum_and_rrf() -> None:
    fused = weighted_sum(
        {"a": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}, {"a": 0.25, "b": 0.75}
    )
    assert fused.tolist() == pytest.approx([0.25, 0.75])
    rrf = reciprocal_rank_fusion([[7, 8], [8]], k=60)
    assert rrf[8] == pytest.approx(1 / 62 + 1 / 61)
    assert rrf[7] == pytest.approx(1 / 61)


def test_max_by_group() -> None:
    out = max_by_group(np.array([0.1, 0.5, 0.3]), np.array([0, 0, 2]), 3, fill=-1.0)
    assert out.tolist() == pytest.approx([0.5, -1.0, 0.3])


def test_bm25_matches_hand_computation() -> None:
    docs = [["a", "b"], ["b", "b", "c"]]
    # N=2; df(a)=1 -> idf=ln(1+(2-1+.5)/(1+.5))=ln 2; avgdl=2.5
    # k1=1.2, doc0: tf=1, dl=2 -> 1*2.2/(1+1.2*(0.25+0.75*0.8)) = 2.2/2.02
    classic = BM25Index.build(docs, BM25Params(k1=1.2, b=0.75))
    expected = np.log(2) * 2.2 / 2.02
    assert classic.scores(["a"]).tolist() == pytest.approx([expected, 0.0], rel=1e-5)
    # default k1=0.5: 1*1.5/(1+0.5*0.85) = 1.5/1.425
    idx = BM25Index.build(docs)
    assert idx.scores(["a"]).tolist() == pytest.approx([np.log(2) * 1.5 / 1.425, 0.0], rel=1e-5)


def test_tokenizer_aliases_cjk_bigrams_and_name_order(analyzer: KoreanMorphemes) -> None:
    tok = Tokenizer(analyzer=analyzer)
    ko = tok("클로드 하이쿠 4.5의 점수")
    assert {"claude", "haiku", "4.5", "haiku_4.5", "점수"} <= set(ko)
    assert tok("安全等级") == ["安全", "全等", "等级"]
    assert "haiku_4.5" in tok("Claude Haiku 4.5")
    assert "haiku_4.5" not in tok("Claude 3.5 Haiku")
    assert "what" not in tok("What is it")


def test_required_names_tell_near_identical_models_apart(analyzer: KoreanMorphemes) -> None:
    tok = Tokenizer(analyzer=analyzer)
    assert "haiku_4.5" in required_tokens("What is Claude Haiku 4.5's price?", tok)
    assert "claude_3.5" in required_tokens("Claude 3.5 하이쿠의 가격은?", tok)
    assert required_tokens("클로드 오푸스 4 가격", tok) >= {"claude", "opus", "4", "opus_4"}
    assert required_tokens("what does it cost?", tok) == set()


def test_glossary_expands_across_languages() -> None:
    glossary = load_lexicon().glossary
    assert {"가격", "价格"} <= set(expand("What is the price?", glossary))
    assert "price" in expand("하이쿠 가격은?", glossary)


def test_korean_morphemes_match_across_endings(analyzer: KoreanMorphemes) -> None:
    tok = Tokenizer(analyzer=analyzer)
    a, b = tok("모델을 공개했습니다"), tok("공개된 모델들은")
    assert "k:공개" in a and "k:공개" in b
    assert "k:모델" in a and "k:모델" in b
    # particles and endings are not morpheme tokens
    assert not any(t in ("k:을", "k:습니다", "k:은") for t in a + b)
    # Chinese and English text get no morpheme tokens; bigrams-only config neither
    assert not any(t.startswith("k:") for t in tok("模型已经发布 released"))
    plain = Tokenizer(TokenizerConfig(korean_morphemes=""))
    assert not any(t.startswith("k:") for t in plain("모델을 공개했습니다"))
    assert TokenizerConfig().fingerprint() != TokenizerConfig(korean_morphemes="").fingerprint()


def test_settings_weights_name_every_fusion_signal() -> None:
    from kb.qa.retrieve import SIGNALS
    from kb.settings import Settings

    assert tuple(Settings().weights) == SIGNALS
