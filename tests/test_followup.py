"""Follow-up questions: the rules on hand-written turns (the real lexicon), the
history format, and (integration) answers on the real corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb.qa.followup import HistoryError, Turn, parse_history, resolve
from kb.qa.lexicon import Lexicon, load_lexicon
from kb.qa.service import KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_lexicon()


def _h(*questions: str) -> list[Turn]:
    out: list[Turn] = []
    for q in questions:
        out += [Turn("user", q), Turn("assistant", "an answer [1]")]
    return out


@pytest.mark.parametrize(
    ("earlier", "question", "standalone", "how"),
    [
        (
            "What is Claude Haiku 4.5's SWE-bench Verified score?",
            "And Claude 3.5 Haiku?",
            "What is Claude 3.5 Haiku's SWE-bench Verified score?",
            "swapped",
        ),
        (
            "How much does Claude Haiku 4.5 cost per million input tokens?",
            "and the output price?",
            "the output price of Claude Haiku 4.5?",
            "inherited",
        ),
        (
            "What is Claude 3.5 Haiku's HumanEval score?",
            "What does it cost?",
            "What does Claude 3.5 Haiku cost?",
            "inherited",
        ),
        (
            "클로드 하이쿠 4.5의 안전 등급은?",
            "그 모델의 가격은?",
            "클로드 하이쿠 4.5의 가격은?",
            "inherited",
        ),
        (
            "Claude 3.5 Haiku 在 HumanEval 上得分多少?",
            "它的价格呢?",
            "Claude 3.5 Haiku的价格呢?",
            "inherited",
        ),
        (
            "Claude Sonnet 4 在 SWE-bench Verified 上得分多少?",
            "那 Sonnet 4.5 呢?",
            "Claude Sonnet 4.5 在 SWE-bench Verified 上得分多少?",
            "swapped",
        ),
        (
            "Claude 3.5 Haiku 在 HumanEval 上得分多少?",
            "它在 HumanEval 上比 GPT-4o mini 高多少?",
            "Claude 3.5 Haiku在 HumanEval 上比 GPT-4o mini 高多少?",
            "inherited",
        ),
        (
            "What is Claude Haiku 4.5's SWE-bench Verified score?",
            "When was GPT-4o mini released?",
            "When was GPT-4o mini released?",
            "as asked",
        ),
    ],
)
def test_rules(lexicon: Lexicon, earlier: str, question: str, standalone: str, how: str) -> None:
    r = resolve(question, _h(earlier), lexicon)
    assert (r.standalone, r.how) == (standalone, how)


def test_no_history_is_as_asked(lexicon: Lexicon) -> None:
    r = resolve("What does it cost?", [], lexicon)
    assert (r.standalone, r.how) == ("What does it cost?", "as asked")


def test_model_carries_over_several_turns(lexicon: Lexicon) -> None:
    history = _h("What is Claude 3.5 Haiku's MMLU score?", "What does it cost?")
    r = resolve("그 모델은 언제 나왔어?", history, lexicon)
    assert r.model == "Claude 3.5 Haiku" and "Claude 3.5 Haiku" in r.standalone


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("x", "must be a list"),
        ([1], r"history\[0\] must be an object"),
        ([{"role": "system", "content": "x"}], r"\.role must be user or assistant"),
        ([{"role": "user", "content": 3}], "content must be a string"),
        ([{"role": "user", "content": "x"}] * 51, "at most 50"),
    ],
)
def test_history_errors(raw: object, message: str) -> None:
    with pytest.raises(HistoryError, match=message):
        parse_history(raw)


@pytest.mark.integration
def test_follow_ups_on_the_real_corpus(corpus_kb: KnowledgeBase) -> None:
    dialogue = [
        {"role": "user", "content": "What is Claude Haiku 4.5's SWE-bench Verified score?"},
        {"role": "assistant", "content": "73.3%"},
    ]
    first = corpus_kb.converse("And Claude 3.5 Haiku?", dialogue)
    assert "40.6%" in first.answer.text
    assert first.answer.citations[0].doc_id == "claude-3.5-haiku.ko"
    ko = [{"role": "user", "content": "클로드 3.5 하이쿠의 SWE-bench Verified 점수는?"}]
    second = corpus_kb.converse("그 모델은 HumanEval에서 몇 점이야?", ko)
    assert "클로드 3.5 하이쿠" in second.resolved.standalone
    assert second.answer.citations and second.answer.citations[0].doc_id == "claude-3.5-haiku.ko"


@pytest.mark.integration
def test_cli_history_file(corpus_kb: KnowledgeBase, tmp_path: Path) -> None:
    import io

    from kb.cli import main

    hist = tmp_path / "h.json"
    hist.write_text(
        json.dumps(
            [{"role": "user", "content": "What is Claude Haiku 4.5's SWE-bench Verified score?"}]
        ),
        encoding="utf-8",
    )
    s = corpus_kb.settings
    args = ["ask", "--corpus", str(s.corpus_dir), "--index", str(s.index_dir), "--json"]
    out = io.StringIO()
    assert main([*args, "--history", str(hist), "And Claude 3.5 Haiku?"], out=out) == 0
    body = json.loads(out.getvalue())
    assert body["standalone"] == "What is Claude 3.5 Haiku's SWE-bench Verified score?"
    assert "40.6%" in body["answer"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"role": 1}', encoding="utf-8")
    assert main([*args, "--history", str(bad), "And?"], out=io.StringIO()) == 2


def test_converse_rejects_bad_input_as_user_errors() -> None:
    from kb.errors import KbError, QueryError
    from kb.settings import Settings

    kb = KnowledgeBase(Settings())
    with pytest.raises(QueryError):
        kb.converse("   ", [])
    with pytest.raises(HistoryError) as info:
        kb.converse("And the price?", [{"role": 1}])
    assert isinstance(info.value, KbError)
