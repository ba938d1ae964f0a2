"""The chat turn of the web UI: the conversation goes to ``KnowledgeBase`` as
history, the generated text is shown as it arrives, then the verified answer with
its citation cards; the standalone question is shown when it differs."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

from kb import cards
from kb.errors import KbError
from kb.llm.stream import stream_ask
from kb.qa.followup import AskResult, Resolved
from kb.qa.service import KnowledgeBase

History = list[dict[str, Any]]
_TAG = re.compile(r"<[^>]+>")
_ERRORS = (KbError,)


def _text(content: Any) -> str:
    if isinstance(content, list):
        content = " ".join(
            str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content
        )
    elif isinstance(content, dict):
        content = content.get("text", "")
    return html.unescape(_TAG.sub(" ", str(content or ""))).strip()


def plain_history(history: History | None) -> list[dict[str, str]]:
    """The chat's messages as plain {"role", "content"} turns (markup removed)."""
    out = []
    for m in history or []:
        role = m.get("role") if isinstance(m, dict) else None
        text = _text(m.get("content")) if isinstance(m, dict) else ""
        if role in ("user", "assistant") and text:
            out.append({"role": role, "content": text[:4000]})
    return out[-50:]


def standalone_note(resolved: Resolved) -> str:
    if resolved.standalone == resolved.question:
        return ""
    return (
        f"<div class='kb-standalone'>Searched as: <em>{html.escape(resolved.standalone)}</em></div>"
    )


def respond_stream(
    kb: KnowledgeBase, message: str, history: History | None
) -> Iterator[tuple[History, str]]:
    """(chat history, citation panel) after each step of the turn."""

    earlier = plain_history(history)
    history = list(history or [])
    question = (message or "").strip()
    if not question:
        history.append({"role": "assistant", "content": html.escape(cards.EMPTY_PROMPT)})
        yield history, cards.NO_CITATIONS
        return
    history.append({"role": "user", "content": html.escape(question)})
    note = ""
    generated = ""
    try:
        for item in stream_ask(kb, question, earlier):
            if isinstance(item, Resolved):
                note = standalone_note(item)
                if note:
                    history.append({"role": "assistant", "content": note})
                    yield history, cards.NO_CITATIONS
            elif isinstance(item, str):
                generated += item
                bubble = (
                    f"{note}<div class='kb-answer kb-generating'>{html.escape(generated)}</div>"
                )
                if history[-1]["role"] == "assistant":
                    history[-1] = {"role": "assistant", "content": bubble}
                else:
                    history.append({"role": "assistant", "content": bubble})
                yield history, cards.NO_CITATIONS
            elif isinstance(item, AskResult):
                notice = getattr(item.answer, "notice", "")
                warn = f"<div class='kb-warn'>⚠ {html.escape(notice)}</div>" if notice else ""
                bubble = note + warn + cards.render_answer(item.answer)
                if history[-1]["role"] == "assistant":
                    history[-1] = {"role": "assistant", "content": bubble}
                else:
                    history.append({"role": "assistant", "content": bubble})
                yield history, cards.render_citations(item.answer)
    except _ERRORS as exc:
        history.append(
            {
                "role": "assistant",
                "content": f"<div class='kb-abstain'>⚠ {html.escape(str(exc))}</div>",
            }
        )
        yield history, cards.NO_CITATIONS
