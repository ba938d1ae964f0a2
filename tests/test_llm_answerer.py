"""Generated answers on the real corpus through scripted servers (real HTTP on
127.0.0.1): streaming from the Anthropic server, fallback to the extractive answer
when the server fails or nothing verifies, the 'mark' policy, the CLI's one line."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from llm_servers import ScriptedLLM, scripted_llm
from test_api import scripted_reply

from kb.cli import main
from kb.llm.answerer import GeneratedAnswer
from kb.llm.stream import stream_ask
from kb.qa.followup import AskResult, Resolved
from kb.qa.service import KnowledgeBase

pytestmark = pytest.mark.integration
Q = "What is Claude 3.5 Haiku's SWE-bench Verified score?"


@pytest.fixture()
def anthropic() -> Iterator[ScriptedLLM]:
    with scripted_llm("anthropic", scripted_reply) as server:
        yield server


def _kb(corpus_kb: KnowledgeBase, server: ScriptedLLM, **kw: object) -> KnowledgeBase:
    settings = corpus_kb.settings.replace(
        llm=server.kind,
        llm_base_url=server.base_url,
        llm_api_key="test-key",
        llm_model="scripted",
        llm_retries=0,
        **kw,
    )
    return KnowledgeBase(settings, models=corpus_kb.models)


def test_stream_then_verified(corpus_kb: KnowledgeBase, anthropic: ScriptedLLM) -> None:
    items = list(stream_ask(_kb(corpus_kb, anthropic), Q))
    assert isinstance(items[0], Resolved)
    pieces = [x for x in items if isinstance(x, str)]
    assert len(pieces) > 2 and "$99" in "".join(pieces)  # the raw text streams as generated
    final = items[-1]
    assert isinstance(final, AskResult) and isinstance(final.answer, GeneratedAnswer)
    assert "40.6%" in final.answer.text and "$99" not in final.answer.text
    assert final.answer.citations[0].doc_id == "claude-3.5-haiku.ko"


def test_mark_policy_keeps_unverified_marked(
    corpus_kb: KnowledgeBase, anthropic: ScriptedLLM
) -> None:
    answer = _kb(corpus_kb, anthropic, llm_unverified="mark").converse(Q).answer
    assert "$99 per million tokens (unverified)" in answer.text


def test_server_failure_falls_back_and_says_so(
    corpus_kb: KnowledgeBase, anthropic: ScriptedLLM
) -> None:
    anthropic.failures = [500] * 5
    result = _kb(corpus_kb, anthropic).converse(Q)
    assert "40.6%" in result.answer.text  # the extractive answer
    assert "HTTP 500" in result.to_dict()["notice"] and "answered extractively" in str(
        result.to_dict()["notice"]
    )


def test_nothing_verified_falls_back(corpus_kb: KnowledgeBase) -> None:
    with scripted_llm("openai", "Claude 3.5 Haiku scores 99.9% on SWE-bench Verified [1].") as s:
        result = _kb(corpus_kb, s).converse(Q)
    body = result.to_dict()
    assert "40.6%" in result.answer.text and "99.9" not in result.answer.text
    assert "no generated sentence could be verified" in str(body["notice"])
    assert body["generated"]["kept"] == 0  # type: ignore[index]


def test_cli_bad_key_one_line_and_extractive(
    corpus_kb: KnowledgeBase,
    anthropic: ScriptedLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = corpus_kb.settings
    monkeypatch.setenv("KB_LLM", "anthropic")
    monkeypatch.setenv("KB_LLM_BASE_URL", anthropic.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "wrong")
    out = io.StringIO()
    code = main(
        ["ask", "--corpus", str(s.corpus_dir), "--index", str(s.index_dir), "--json", Q], out=out
    )
    assert code == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refused the API key" in err[0]
    assert "40.6%" in json.loads(out.getvalue())["answer"]
