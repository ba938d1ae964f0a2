"""The chat clients against scripted servers over real HTTP on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest
from llm_servers import scripted_llm

from kb.llm.clients import LLMConfig, make_client
from kb.llm.errors import LLMAuthError, LLMBadResponse, LLMError, LLMUnavailable

KINDS = ["openai", "anthropic"]


def _config(server_url: str, kind: str, **kw: object) -> LLMConfig:
    args: dict[str, object] = {
        "provider": kind,
        "base_url": server_url,
        "model": "m",
        "api_key": "test-key",
        "timeout": 5.0,
        "retries": 2,
    }
    args.update(kw)
    return LLMConfig(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", KINDS)
def test_complete_and_stream(kind: str) -> None:
    with scripted_llm(kind, lambda s, u: f"echo: {u[-5:]} [1].") as server:
        client = make_client(_config(server.base_url, kind))
        assert client is not None
        assert client.complete("sys", "hello") == "echo: hello [1]."
        pieces = list(client.stream("sys", "a longer question to stream"))
        assert len(pieces) > 1
        assert "".join(pieces) == "echo: tream [1]."
        assert server.requests[0]["body"]["model"] == "m"


@pytest.mark.parametrize("kind", KINDS)
def test_429_then_ok_is_retried(kind: str) -> None:
    with scripted_llm(kind, "fine [1].") as server:
        server.failures = [429, 500]
        client = make_client(_config(server.base_url, kind))
        assert client is not None
        assert client.complete("s", "u") == "fine [1]."
        assert len(server.requests) == 3


@pytest.mark.parametrize("kind", KINDS)
def test_500_after_retries_is_one_line(kind: str) -> None:
    with scripted_llm(kind, "never") as server:
        server.failures = [500] * 10
        client = make_client(_config(server.base_url, kind, retries=1))
        assert client is not None
        with pytest.raises(LLMUnavailable) as err:
            client.complete("s", "u")
        assert "HTTP 500" in str(err.value) and "\n" not in str(err.value)
        assert len(server.requests) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_bad_key(kind: str) -> None:
    with scripted_llm(kind, "never") as server:
        client = make_client(_config(server.base_url, kind, api_key="wrong"))
        assert client is not None
        with pytest.raises(LLMAuthError, match="refused the API key"):
            client.complete("s", "u")
        with pytest.raises(LLMAuthError):
            list(client.stream("s", "u"))


@pytest.mark.parametrize("kind", KINDS)
def test_slow_server_times_out(kind: str) -> None:
    with scripted_llm(kind, "late") as server:
        server.delay = 1.5
        client = make_client(_config(server.base_url, kind, timeout=0.3, retries=0))
        assert client is not None
        with pytest.raises(LLMUnavailable, match=r"did not answer within 0\.3s"):
            client.complete("s", "u")


@pytest.mark.parametrize("kind", KINDS)
def test_malformed_body(kind: str) -> None:
    with scripted_llm(kind, "x") as server:
        server.malformed = True
        client = make_client(_config(server.base_url, kind))
        assert client is not None
        with pytest.raises(LLMBadResponse):
            client.complete("s", "u")


@pytest.mark.parametrize("kind", KINDS)
def test_unreachable(kind: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}" + ("/v1" if kind == "openai" else "")
    client = make_client(_config(url, kind, retries=0))
    assert client is not None
    with pytest.raises(LLMUnavailable, match="unreachable"):
        client.complete("s", "u")


def test_key_from_provider_variable() -> None:
    cfg = LLMConfig(provider="anthropic")
    assert cfg.key({"ANTHROPIC_API_KEY": "k1"}) == "k1"
    assert LLMConfig(provider="openai", api_key="own").key({"OPENAI_API_KEY": "k2"}) == "own"


def test_unknown_provider() -> None:
    assert make_client(LLMConfig(provider="none")) is None
    with pytest.raises(LLMError, match="KB_LLM must be one of"):
        make_client(LLMConfig(provider="gemini"))
