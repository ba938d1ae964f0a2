"""The HTTP API through real HTTP on 127.0.0.1: a uvicorn server with the API and the
Gradio app, over the real corpus; generated answers from a scripted OpenAI-compatible
server that mixes supported and unsupported sentences."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from llm_servers import ScriptedLLM, scripted_llm

from kb.api import create_api
from kb.qa.service import KnowledgeBase

pytestmark = pytest.mark.integration

_PASSAGE = re.compile(r"<passage (\{.*?\})>\n(.*?)\n</passage>", re.S)
FIGURES = {
    "claude 3.5 haiku": ("40.6%", "Claude 3.5 Haiku scores 40.6% on SWE-bench Verified"),
    "claude haiku 4.5": ("73.3%", "Claude Haiku 4.5 scores 73.3% on SWE-bench Verified"),
}


def scripted_reply(system: str, user: str) -> str:
    """A model that answers the SWE-bench question from the right passage, then adds
    an unsupported figure; rewrites follow-ups by naming the earlier model."""
    if system.startswith("Rewrite"):
        last = user.rsplit("Last question:", 1)[-1].strip()
        model = "Claude 3.5 Haiku" if "3.5" in user else "Claude Haiku 4.5"
        return f"What is {model}'s {last.removeprefix('And what about its ').rstrip('?')}?"
    question = user.rsplit("Question:", 1)[-1].lower()
    for name, (figure, sentence) in FIGURES.items():
        if name in question:
            n = next(
                (json.loads(h)["n"] for h, text in _PASSAGE.findall(user) if figure in text), 1
            )
            return f"{sentence} [{n}]. It costs $99 per million tokens [{n}]."
    return "The knowledge base does not hold the answer."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with scripted_llm("openai", scripted_reply) as server:
        yield server


def _serve(kb: KnowledgeBase) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_api(kb), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def base(corpus_kb: KnowledgeBase) -> Iterator[str]:
    yield from _serve(corpus_kb)


@pytest.fixture(scope="module")
def llm_base(corpus_kb: KnowledgeBase, llm: ScriptedLLM) -> Iterator[str]:
    settings = corpus_kb.settings.replace(
        llm="openai", llm_base_url=llm.base_url, llm_api_key="test-key", llm_model="scripted"
    )
    kb = KnowledgeBase(settings, models=corpus_kb.models)
    yield from _serve(kb)


def test_status_and_openapi(base: str) -> None:
    r = httpx.get(f"{base}/api/status")
    assert r.status_code == 200
    assert r.json()["documents"] == 4 and r.json()["llm"] == "none"
    paths = httpx.get(f"{base}/api/openapi.json").json()["paths"]
    assert {"/api/status", "/api/search", "/api/ask"} <= set(paths)


def test_search_is_the_cli_json(base: str) -> None:
    r = httpx.post(f"{base}/api/search", json={"query": "Claude 3.5 Haiku SWE-bench", "k": 3})
    body = r.json()
    assert r.status_code == 200 and body["query"] == "Claude 3.5 Haiku SWE-bench"
    assert len(body["hits"]) == 3 and body["hits"][0]["doc_id"] == "claude-3.5-haiku.ko"
    assert {"rank", "score", "title", "section", "source", "start", "end", "text"} <= set(
        body["hits"][0]
    )


def test_ask_with_history_extractive(base: str) -> None:
    history = [
        {"role": "user", "content": "What is Claude Haiku 4.5's SWE-bench Verified score?"},
        {"role": "assistant", "content": "73.3%"},
    ]
    r = httpx.post(
        f"{base}/api/ask", json={"question": "And Claude 3.5 Haiku?", "history": history}
    )
    body = r.json()
    assert r.status_code == 200
    assert body["standalone"] == "What is Claude 3.5 Haiku's SWE-bench Verified score?"
    assert "40.6%" in body["answer"] and not body["abstained"]
    alone = httpx.post(f"{base}/api/ask", json={"question": "And Claude 3.5 Haiku?"}).json()
    assert alone["standalone"] == "And Claude 3.5 Haiku?"


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"question": ""},
        {"question": "   "},
        {"question": 5},
        {"question": "x" * 2001},
        {"question": "ok?", "history": "nope"},
        {"question": "ok?", "history": [{"role": "system", "content": "x"}]},
        {"question": "ok?", "k": "five"},
        {"question": "ok?", "k": 0},
        {"question": "ok?", "extra": 1},
    ],
)
def test_bad_input_is_4xx_json(base: str, payload: dict[str, object]) -> None:
    r = httpx.post(f"{base}/api/ask", json=payload)
    assert 400 <= r.status_code < 500
    assert "error" in r.json()


def test_malformed_json_body(base: str) -> None:
    r = httpx.post(
        f"{base}/api/search", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert 400 <= r.status_code < 500 and "error" in r.json()


def test_generated_answer_drops_unverified_figures(llm_base: str) -> None:
    q = "What is Claude 3.5 Haiku's SWE-bench Verified score?"
    body = httpx.post(f"{llm_base}/api/ask", json={"question": q}, timeout=60).json()
    assert "40.6%" in body["answer"]
    assert "$99" not in body["answer"] and "99" not in body["answer"]
    sentences = body["generated"]["sentences"]
    assert [s["verified"] for s in sentences] == [True, False]
    assert body["citations"] and "40.6%" in body["citations"][0]["quote"]


def test_generated_follow_up_is_about_the_earlier_model(llm_base: str) -> None:
    history = [
        {"role": "user", "content": "Tell me about Claude 3.5 Haiku."},
        {"role": "assistant", "content": "A fast model [1]."},
    ]
    body = httpx.post(
        f"{llm_base}/api/ask",
        json={"question": "And what about its SWE-bench Verified score?", "history": history},
        timeout=60,
    ).json()
    assert body["resolved_by"] == "rewritten"
    assert "Claude 3.5 Haiku" in body["standalone"]
    assert "40.6%" in body["answer"] and "73.3%" not in body["answer"]
