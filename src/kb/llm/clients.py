"""Chat clients: any OpenAI-compatible Chat Completions server (OpenAI, Ollama,
llama.cpp server, vLLM) through the ``openai`` package with ``base_url``, and the
Anthropic Messages API through the ``anthropic`` package.

Both retry 429 and 5xx answers with exponential backoff (the SDKs' own, honouring
``Retry-After``), time out after ``timeout`` seconds, and turn every failure into
one ``LLMError`` line naming the server.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kb.llm.errors import LLMAuthError, LLMBadResponse, LLMError, LLMUnavailable

log = logging.getLogger(__name__)

PROVIDERS = ("none", "openai", "anthropic")
DEFAULT_MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}
KEY_VARIABLES = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}


@dataclass(frozen=True)
class LLMConfig:
    provider: str = "none"
    base_url: str = ""
    model: str = ""
    api_key: str = ""
    timeout: float = 60.0
    retries: int = 2
    max_tokens: int = 800

    @property
    def where(self) -> str:
        return self.base_url or f"the {self.provider} API"

    def key(self, env: Mapping[str, str] | None = None) -> str:
        env = os.environ if env is None else env
        return self.api_key or env.get(KEY_VARIABLES.get(self.provider, ""), "")


class ChatClient(Protocol):
    config: LLMConfig

    def complete(self, system: str, user: str) -> str: ...

    def stream(self, system: str, user: str) -> Iterator[str]: ...


def _translate(exc: Exception, config: LLMConfig, sdk: Any) -> LLMError:
    where = config.where
    if isinstance(exc, sdk.AuthenticationError | sdk.PermissionDeniedError):
        return LLMAuthError(f"the LLM server at {where} refused the API key ({exc.status_code})")
    if isinstance(exc, sdk.APITimeoutError):
        return LLMUnavailable(
            f"the LLM server at {where} did not answer within {config.timeout:g}s"
        )
    if isinstance(exc, sdk.APIConnectionError):
        return LLMUnavailable(f"the LLM server at {where} is unreachable")
    if isinstance(exc, sdk.RateLimitError):
        return LLMUnavailable(f"the LLM server at {where} kept refusing with 429 (rate limit)")
    if isinstance(exc, sdk.APIStatusError):
        return LLMUnavailable(
            f"the LLM server at {where} failed with HTTP {exc.status_code} "
            f"after {config.retries} retries"
        )
    return LLMBadResponse(f"the LLM server at {where} sent an unusable answer: {exc}")


class OpenAIClient:
    def __init__(self, config: LLMConfig) -> None:
        import openai

        self.config = config
        self._sdk = openai
        self._client = openai.OpenAI(
            base_url=config.base_url or None,
            api_key=config.key() or "none",  # Ollama and llama.cpp ignore it
            timeout=config.timeout,
            max_retries=config.retries,
        )

    def _messages(self, system: str, user: str) -> list[Any]:
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def complete(self, system: str, user: str) -> str:
        try:
            r = self._client.chat.completions.create(
                model=self.config.model or DEFAULT_MODELS["openai"],
                messages=self._messages(system, user),
                temperature=0,
                max_tokens=self.config.max_tokens,
            )
            text = r.choices[0].message.content
        except self._sdk.OpenAIError as exc:
            raise _translate(exc, self.config, self._sdk) from None
        except (AttributeError, IndexError, TypeError, ValueError) as exc:
            raise LLMBadResponse(
                f"the LLM server at {self.config.where} sent an unusable answer: {exc}"
            ) from None
        if not isinstance(text, str):
            raise LLMBadResponse(f"the LLM server at {self.config.where} sent no answer text")
        return text

    def stream(self, system: str, user: str) -> Iterator[str]:
        try:
            chunks = self._client.chat.completions.create(
                model=self.config.model or DEFAULT_MODELS["openai"],
                messages=self._messages(system, user),
                temperature=0,
                max_tokens=self.config.max_tokens,
                stream=True,
            )
            for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except self._sdk.OpenAIError as exc:
            raise _translate(exc, self.config, self._sdk) from None
        except (AttributeError, IndexError, TypeError, ValueError) as exc:
            raise LLMBadResponse(
                f"the LLM server at {self.config.where} sent an unusable stream: {exc}"
            ) from None


class AnthropicClient:
    def __init__(self, config: LLMConfig) -> None:
        import anthropic

        self.config = config
        self._sdk = anthropic
        self._client = anthropic.Anthropic(
            base_url=config.base_url or None,
            api_key=config.key() or "none",
            timeout=config.timeout,
            max_retries=config.retries,
        )

    def _args(self, system: str, user: str) -> dict[str, Any]:
        return {
            "model": self.config.model or DEFAULT_MODELS["anthropic"],
            "max_tokens": self.config.max_tokens,
            "system": system,
            "messages": [{"role": "user", "content": user}],
        }

    def complete(self, system: str, user: str) -> str:
        try:
            r = self._client.messages.create(**self._args(system, user))
            return "".join(b.text for b in r.content if getattr(b, "type", "") == "text")
        except self._sdk.AnthropicError as exc:
            raise _translate(exc, self.config, self._sdk) from None
        except (AttributeError, IndexError, TypeError, ValueError) as exc:
            raise LLMBadResponse(
                f"the LLM server at {self.config.where} sent an unusable answer: {exc}"
            ) from None

    def stream(self, system: str, user: str) -> Iterator[str]:
        try:
            with self._client.messages.stream(**self._args(system, user)) as s:
                yield from s.text_stream
        except self._sdk.AnthropicError as exc:
            raise _translate(exc, self.config, self._sdk) from None
        except (AttributeError, IndexError, TypeError, ValueError) as exc:
            raise LLMBadResponse(
                f"the LLM server at {self.config.where} sent an unusable stream: {exc}"
            ) from None


def make_client(config: LLMConfig) -> ChatClient | None:
    """The client ``config`` names, or None for ``none``."""
    if config.provider == "openai":
        return OpenAIClient(config)
    if config.provider == "anthropic":
        return AnthropicClient(config)
    if config.provider in ("", "none"):
        return None
    raise LLMError(f"KB_LLM must be one of {', '.join(PROVIDERS)}, got {config.provider!r}")
