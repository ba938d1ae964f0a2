"""The answer stage's pieces, without a model: lexicon, names, figures and their
owners, question types, lead lines, the answer model file, answer keys."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from kb.errors import AnswerModelError, LexiconError
from kb.evaluation.answers import contains_key
from kb.ingest.document import Block, Sentence
from kb.qa.calibration import (
    AnswerModel,
    fit_conditional_logit,
    fit_logistic,
    load_answer_model,
    question_features,
)
from kb.qa.evidence import FEATURES
from kb.qa.evidence_match import names_benchmark
from kb.qa.figures import figures_in
from kb.qa.lexicon import Lexicon, load_lexicon, merge
from kb.qa.mentions import ModelName, find_mentions, subject_of, without_names
from kb.qa.question import analyze, token_volumes
from kb.qa.render import lead, money


@pytest.fixture(scope="module")
def lex() -> Lexicon:
    return load_lexicon()


def name(text: str, lex: Lexicon) -> ModelName:
    found = find_mentions(text, lex)
    assert len(found) == 1, found
    return found[0].name


# ------------------------------------------------------------ lexicon


def test_merge_extends_lists_and_objects() -> None:
    base = {"a": [1, 2], "b": {"x": 1}, "c": 1}
    assert merge(base, {"a": [2, 3], "b": {"y": 2}, "c": 5}) == {
        "a": [1, 2, 3],
        "b": {"x": 1, "y": 2},
        "c": 5,
    }


def test_corpus_lexicon_is_merged_over_the_packaged_one(tmp_path: Path) -> None:
    (tmp_path / "lexicon.json").write_text(
        json.dumps({"aliases": {"오리온": "orion"}, "model_families": ["orion"]}), encoding="utf-8"
    )
    lex = load_lexicon(tmp_path)
    assert lex.aliases["오리온"] == "orion" and lex.aliases["클로드"] == "claude"
    assert name("오리온 2의 가격", lex).key == "orion 2"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "unreadable"),
        ('{"question_types": {"list": ["(unclosed"]}}', "bad regular expression"),
        ('{"model_families": "claude"}', "must be a list"),
        (
            '{"attributes": [{"name": "license", "cues": ["(unclosed"], "terms": []}]}',
            "bad regular expression",
        ),
        ('{"attributes": [{"name": "license", "cues": []}]}', "wrong shape"),
    ],
)
def test_damaged_corpus_lexicon_is_one_clear_error(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "lexicon.json").write_text(content, encoding="utf-8")
    with pytest.raises(LexiconError, match=message) as err:
        load_lexicon(tmp_path)
    assert "\n" not in str(err.value)


# ------------------------------------------------------------ model names


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Claude Haiku 4.5", "클로드 하이쿠 4.5", True),
        ("Claude Haiku 4.5", "克劳德 Haiku 4.5", True),
        ("Claude 3.5 Haiku", "클로드 3.5 하이쿠", True),
        ("Claude Haiku 4.5", "Claude 3.5 Haiku", False),
        ("Sonnet 4", "Sonnet 4.5", False),
        ("GPT-4o", "GPT-4o mini", False),
        ("Claude 4", "Claude Opus 4", True),
        ("Claude 3 Opus", "Claude Opus 4", False),
        ("하이쿠", "Claude 3.5 Haiku", True),
    ],
)
def test_names_fit_only_the_same_model(a: str, b: str, same: bool, lex: Lexicon) -> None:
    assert name(a, lex).compatible(name(b, lex)) is same


def test_adjacent_names_are_split(lex: Lexicon) -> None:
    keys = [m.name.key for m in find_mentions("how does Haiku 4.5 do against Sonnet 4?", lex)]
    assert keys == ["haiku 4.5", "sonnet 4"]
    assert [m.name.key for m in find_mentions("10M input tokens with Haiku 4.5", lex)] == [
        "haiku 4.5"
    ]


def test_a_version_cut_at_a_dot_still_means_the_article_subject(lex: Lexicon) -> None:
    cut = name("Claude Haiku 4.在这方面表现尤为出色", lex)
    assert cut.truncated and cut.version == "4"
    subject = name("Claude Haiku 4.5", lex)
    assert cut.compatible(subject) and cut.resolve(subject) == subject
    assert not cut.compatible(name("Claude 3.5 Haiku", lex))


def test_article_subject_is_its_most_named_versioned_model(lex: Lexicon) -> None:
    texts = ["AI(Claude3)가 작성한 「Claude 3.5 Sonnet」", "Claude 3.5 Sonnet 은", "Claude 3 Opus"]
    subject = subject_of(texts, lex)
    assert subject is not None and subject.key == "claude sonnet 3.5"


# ------------------------------------------------------------ figures and owners


def _owners(
    text: str, kind: str, lex: Lexicon, context: str = "Claude Haiku 4.5"
) -> dict[str, str]:
    figure_kind = lex.figure_kind(kind)
    assert figure_kind is not None
    ctx = name(context, lex)
    figs = figures_in(Sentence(0, len(text), text), figure_kind, lex, ctx)
    return {f.text: f.owner.key if f.owner else "" for f in figs}


def test_a_figure_belongs_to_the_name_right_before_it_else_the_context(lex: Lexicon) -> None:
    text = "- SWE-bench Verified:取得73.3%的准确率,与Claude Sonnet 4(72.7%)相当"
    assert _owners(text, "score", lex) == {"73.3%": "claude haiku 4.5", "72.7%": "claude sonnet 4"}
    text = "MATH 벤치마크에서 GPT-4o mini가 70.2%로 하이쿠의 69.2%보다 근소하게 앞섬"
    assert _owners(text, "score", lex, "Claude 3.5 Haiku") == {
        "70.2%": "gpt 4o mini",
        "69.2%": "claude haiku 3.5",
    }


def test_a_point_of_comparison_does_not_own_the_figure(lex: Lexicon) -> None:
    text = "- Claude 3 Opus 대비 2 배 빠른 처리 속도를 보여줍니다."
    assert _owners(text, "multiplier", lex, "Claude 3.5 Sonnet") == {"2 배": "claude sonnet 3.5"}


def test_price_figures_keep_their_unit_and_the_sentence_subject(lex: Lexicon) -> None:
    text = (
        "Claude Haiku 4.5在这方面表现尤为突出,其价格仅为Claude Sonnet 4的三分之一,"
        "输入每百万token 1美元,输出每百万token 5美元,性价比极高。"
    )
    assert _owners(text, "price", lex) == {"1美元": "claude haiku 4.5", "5美元": "claude haiku 4.5"}


def test_a_table_figure_belongs_to_its_column(lex: Lexicon) -> None:
    header = Sentence(0, 1, "평가 영역\tClaude 3.5 하이쿠\tGPT-4o mini\t성능 차이")
    row = Sentence(2, 3, "시각적 Q&A (MMMU)\t-\t59.4%\t비교 불가", role="row", block=0)
    block = Block("table", "s", 0, 3, "", None, header, (row,))
    kind = lex.figure_kind("score")
    assert kind is not None
    figs = figures_in(row, kind, lex, name("Claude 3.5 Haiku", lex), block)
    assert [(f.text, f.owner.key if f.owner else None) for f in figs] == [("59.4%", "gpt 4o mini")]


def test_the_safety_level_is_read_whole(lex: Lexicon) -> None:
    text = "ASL-2(Anthropic Safety Level 2) 수준의 안전성을 유지하고 있음을 확인했습니다."
    assert list(_owners(text, "safety", lex, "Claude 3.5 Sonnet")) == ["ASL-2"]
    text = "被评为AI安全等级2(ASL-2),这表明该模型"
    assert list(_owners(text, "safety", lex)) == ["ASL-2"]


def test_benchmark_names_match_whole_words() -> None:
    assert names_benchmark("- SWE-bench Verified:取得73.3%", ("swe-bench verified",))
    assert not names_benchmark("MMMLU:在14种非英语语言上", ("mmlu",))
    assert names_benchmark("코딩 성능 (SWE-bench)\t40.6%", ("swe bench",))


# ------------------------------------------------------------ questions


@pytest.mark.parametrize(
    ("question", "qtype", "figure"),
    [
        ("What does Claude Haiku 4.5 score on SWE-bench Verified?", "figure", "score"),
        ("클로드 3.5 소네트의 안전 등급은?", "figure", "safety"),
        ("Claude Haiku 4.5 的价格是多少?", "figure", "price"),
        ("Which model scored 73.3% on SWE-bench Verified?", "which", "score"),
        ("클로드 3.5 하이쿠는 어떤 영역에서 강점을 보이나요?", "list", None),
        ("Haiku 4.5 可以在哪些平台上部署?", "list", None),
        ("Terminal-Bench: how does Haiku 4.5 do against Sonnet 4?", "comparison", "score"),
        ("Claude Haiku 4.5 在 OSWorld 上比 Claude Sonnet 4 高多少?", "arithmetic", "score"),
        (
            "How much would 10M input and 2M output tokens cost with Haiku 4.5?",
            "arithmetic",
            "price",
        ),
        ("Can I use Haiku 4.5 through Amazon Bedrock?", "yesno", None),
        ("Claude Haiku 4.5 适合做客服吗?", "yesno", None),
        ("What does the sliding scale in Claude 4 let developers adjust?", "open", None),
    ],
)
def test_question_types(question: str, qtype: str, figure: str | None, lex: Lexicon) -> None:
    q = analyze(question, lex)
    assert q.qtype == qtype
    assert (q.figure.kind if q.figure else None) == figure


@pytest.mark.parametrize(
    ("question", "volumes"),
    [
        (
            "How much for 10M input and 2M output tokens of Haiku 4.5?",
            {"input": 1e7, "output": 2e6},
        ),
        (
            "하이쿠 4.5로 입력 토큰 1,000만 개와 출력 토큰 200만 개를 쓰면?",
            {"input": 1e7, "output": 2e6},
        ),
        ("用Haiku 4.5处理1000万输入token和200万输出token要多少钱?", {"input": 1e7, "output": 2e6}),
        ("클로드 하이쿠 4.5 가격은 100만 토큰당 얼마야?", {}),
    ],
)
def test_token_volumes(question: str, volumes: dict[str, float], lex: Lexicon) -> None:
    assert token_volumes(question, lex) == volumes


# ------------------------------------------------------------ lead lines


def test_lead_line_templates_per_language(lex: Lexicon) -> None:
    assert (
        lead(
            lex,
            "figure",
            "en",
            subject="Claude Haiku 4.5",
            label="SWE-bench Verified",
            value="73.3%",
        )
        == "Claude Haiku 4.5 — SWE-bench Verified: 73.3%"
    )
    assert (
        lead(lex, "figure", "ko", subject="Claude 3.5 Sonnet", label="안전 등급", value="ASL-2")
        == "Claude 3.5 Sonnet의 안전 등급: ASL-2"
    )
    assert lead(lex, "figure", "zh", subject="Claude Haiku 4.5", label="价格", value="1美元") == (
        "Claude Haiku 4.5 的价格：1美元"
    )
    assert [money(20.0, "USD", g, lex) for g in ("en", "ko", "zh")] == ["$20", "20달러", "20美元"]


# ------------------------------------------------------------ answer model


def test_fit_logistic_recovers_a_known_boundary() -> None:
    # y = 1 exactly when x > 0: the fitted weight is positive and the boundary near 0
    x = np.linspace(-3, 3, 61)[:, None]
    y = (x[:, 0] > 0).astype(float)
    w, b, mean, scale = fit_logistic(x, y, l2=0.1)
    assert w[0] > 0
    boundary = mean[0] - b * scale[0] / w[0]
    assert abs(boundary) < 0.1


def test_fit_logistic_on_a_hand_computed_case() -> None:
    # two points per class, symmetric: the bias is 0 and p(x=mean) is 1/2
    x = np.array([[0.0], [1.0], [3.0], [4.0]])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    _, b, mean, scale = fit_logistic(x, y, l2=1.0)
    assert math.isclose(b, 0.0, abs_tol=1e-9)
    assert mean[0] == 2.0 and math.isclose(scale[0], math.sqrt(2.5))


def test_conditional_logit_ranks_the_positive_first() -> None:
    # three questions, three candidates each; the positive always has the larger x0
    x = np.array(
        [
            [0.9, 0.1],
            [0.2, 0.5],
            [0.1, 0.9],
            [0.8, 0.3],
            [0.3, 0.3],
            [0.5, 0.8],
            [0.7, 0.6],
            [0.6, 0.2],
            [0.1, 0.1],
        ]
    )
    groups = [np.array([0, 1, 2]), np.array([3, 4, 5]), np.array([6, 7, 8])]
    positive = np.array([1, 0, 0, 1, 0, 0, 1, 0, 0])
    w, mean, scale = fit_conditional_logit(x, groups, positive, l2=0.1)
    scores = ((x - mean) / scale) @ w
    for g in groups:
        assert int(g[np.argmax(scores[g])]) == int(g[0])
    assert w[0] > 0


def test_question_features_of_the_ranker_scores() -> None:
    f = question_features([2.0, 0.0])
    assert math.isclose(f["rank_share"], 1 / (1 + math.exp(-2.0)))
    assert f["rank_score"] == 2.0 and f["rank_margin"] == 2.0
    assert question_features([1.0])["rank_margin"] == 5.0


def test_packaged_answer_model_loads_and_scores() -> None:
    model = load_answer_model(expected=FEATURES)
    assert 0 < model.threshold < 1
    assert set(model.ranker.features) <= set(FEATURES)
    candidates = [{f: 0.5 for f in FEATURES}, {f: 0.2 for f in FEATURES}]
    scores = model.rank(candidates)
    assert 0.0 < model.confidence(candidates[0], scores) < 1.0


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("ranker"), "damaged"),
        (lambda d: d["ranker"].update(weights=[1.0]), "counts differ"),
        (lambda d: d.update(threshold=1.5), "out of range"),
        (lambda d: d["abstainer"]["scale"].__setitem__(0, 0.0), "not positive"),
        (
            lambda d: d["ranker"].update(features=[*d["ranker"]["features"][:-1], "mystery"]),
            "does not compute",
        ),
    ],
)
def test_damaged_answer_model_is_one_clear_error(
    tmp_path: Path, edit: object, message: str
) -> None:
    data = json.loads(load_answer_model().to_json())
    edit(data)  # type: ignore[operator]
    path = tmp_path / "answer_model.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(AnswerModelError, match=message) as err:
        load_answer_model(path, expected=FEATURES)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_unreadable_answer_model_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(AnswerModelError, match="unreadable"):
        load_answer_model(path)
    assert isinstance(AnswerModel.from_dict(json.loads(load_answer_model().to_json())), AnswerModel)


# ------------------------------------------------------------ answer keys


def test_answer_keys_any_of_and_all_of() -> None:
    answer = "Claude Haiku 4.5 — SWE-bench Verified: 73.3% [1]\n“取得73.3%的准确率”"
    assert contains_key(answer, ["73.3 %"])
    assert contains_key(answer, ["72.7%", "73.3%"])
    assert not contains_key(answer, [("73.3%", "72.7%")])
    assert contains_key(answer, [("haiku 4.5", "73.3%")])
    assert not contains_key(answer, [])


def test_a_corpus_lexicon_adds_a_property(tmp_path: Path) -> None:
    (tmp_path / "lexicon.json").write_text(
        json.dumps(
            {"attributes": [{"name": "license", "cues": ["\\blicen[cs]e"], "terms": ["license"]}]}
        ),
        encoding="utf-8",
    )
    lex = load_lexicon(tmp_path)
    assert [a.name for a in lex.attributes][-1] == "license"
    assert "context window" in {a.name for a in lex.attributes}  # the packaged ones stay
    assert analyze("What does Claude 4 cost?", lex).attributes == ()
    assert analyze("What license does Claude 4 use?", lex).attributes == ("license",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What does Claude Haiku 4.5 score on SWE-bench?", "What does score on SWE-bench?"),
        ("클로드 3.5 하이쿠 가격은?", "가격은?"),
        ("克劳德 Haiku 4.5 的价格", "的价格"),
        ("no model here", "no model here"),
    ],
)
def test_without_names_keeps_what_is_asked(text: str, expected: str) -> None:
    assert without_names(text, load_lexicon()) == expected
