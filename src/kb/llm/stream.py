"""Streaming a conversation turn: the generated text as it arrives, then the
verified answer (what the UI shows last, with its citation cards)."""

from __future__ import annotations

from collections.abc import Iterator

from kb.llm.answerer import LLMAnswerer
from kb.qa.answer import Answer
from kb.qa.followup import AskResult, Resolved, prepare
from kb.qa.service import KnowledgeBase, check_query


def stream_ask(
    kb: KnowledgeBase, question: str, history: object = None
) -> Iterator[Resolved | str | AskResult]:
    """First the resolved (standalone) question, then pieces of generated text
    (none without a language model), then the final ``AskResult``."""
    question = check_query(question)
    resolved, retrieval, answerer, notice = prepare(kb, question, history)
    yield resolved
    if not isinstance(answerer, LLMAnswerer):
        yield AskResult(answerer.answer(resolved.standalone, retrieval), resolved, notice)
        return
    for item in answerer.stream(resolved.standalone, retrieval):
        if isinstance(item, Answer):
            yield AskResult(item, resolved, notice)
        else:
            yield item
