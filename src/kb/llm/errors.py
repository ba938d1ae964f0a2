"""Errors of the LLM stage (``KbError`` subclasses: one line for the user)."""

from __future__ import annotations

from kb.errors import KbError


class LLMError(KbError, RuntimeError):
    """The language model could not answer; the message is one line for the user."""


class LLMUnavailable(LLMError):
    """The server is unreachable, timed out, or kept failing (429/5xx) after retries."""


class LLMAuthError(LLMError):
    """The server refused the API key."""


class LLMBadResponse(LLMError):
    """The server answered with a body that is not a chat completion."""
