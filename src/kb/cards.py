"""HTML for answers and citation cards: the chat bubble, the passage with its
quote highlighted, the citation panel. Pure functions of an ``Answer`` (no gradio),
shared by the web UI (ui.py) and the streaming chat turn (chat.py)."""

from __future__ import annotations

import html
import logging
import re

from kb.qa.answer import Answer
from kb.qa.cite import Citation

log = logging.getLogger(__name__)

EXAMPLES = [
    "What is Claude Haiku 4.5's SWE-bench Verified score?",
    "클로드 하이쿠 4.5의 SWE-bench Verified 점수는?",
    "Claude Haiku 4.5 的 SWE-bench Verified 得分是多少？",
]
EMPTY_PROMPT = (
    "Please type a question first — for example: “" + EXAMPLES[0] + "” or “" + EXAMPLES[1] + "”."
)
NO_CITATIONS = "<div class='kb-empty'>Cited passages appear here after you ask a question.</div>"
LANGUAGES = {"ko": "Korean", "zh": "Chinese", "en": "English", "ja": "Japanese"}


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


# ------------------------------------------------------------------ answers


_MARKER = re.compile(r"\[(\d+)\]")


def _markers(text: str) -> str:
    return _MARKER.sub(r"<span class='kb-marker'>[\1]</span>", esc(text))


def render_answer(answer: Answer) -> str:
    """The chat bubble for ``answer``: the lead line as the answer, the quoted
    evidence (or the list's items) under it, and a short source list."""
    if answer.abstained:
        return f"<div class='kb-answer kb-abstain'>{_markers(answer.text)}</div>"
    lead = answer.lead or answer.text.split("\n", 1)[0]
    rest = answer.text.split("\n")[1:] if answer.lead else []
    body = "".join(
        f"<div class='kb-item'>{_markers(line)}</div>"
        if line.startswith("- ")
        else f"<blockquote class='kb-quote-line'>{_markers(line)}</blockquote>"
        for line in rest
    )
    sources = "<br>".join(
        f"<span class='kb-marker'>[{c.n}]</span> {esc(c.title)} › {esc(c.section)} "
        f"<code>{esc(c.source)}</code>" + (" <span class='kb-warn'>⚠</span>" if c.warning else "")
        for c in answer.citations
    )
    return (
        f"<div class='kb-answer'><div class='kb-lead'>{_markers(lead)}</div>{body}"
        + (f"<div class='kb-answer-sources'>{sources}</div>" if sources else "")
        + "</div>"
    )


def highlight_passage(c: Citation) -> str:
    """The cited passage, escaped, with the quote inside <mark>. The passage is
    shown as a reader sees it (``c.display``: an HTML article's text, not its
    markup) when the citation carries it, else as the file has it."""
    if c.display:
        start, end = c.display_quote
        if 0 <= start < end <= len(c.display):
            return (
                esc(c.display[:start])
                + f"<mark class='kb-quote'>{esc(c.display[start:end])}</mark>"
                + esc(c.display[end:])
            )
    rel_start = c.quote_start - c.start
    rel_end = c.quote_end - c.start
    passage = c.passage
    if not 0 <= rel_start < rel_end <= len(passage):
        # offsets outside the passage: show both, highlight nothing inside
        log.warning("quote %d-%d outside passage %d-%d", c.quote_start, c.quote_end, c.start, c.end)
        return f"{esc(passage)}\n<mark class='kb-quote'>{esc(c.quote)}</mark>"
    return (
        esc(passage[:rel_start])
        + f"<mark class='kb-quote'>{esc(passage[rel_start:rel_end])}</mark>"
        + esc(passage[rel_end:])
    )


def render_citations(answer: Answer | None) -> str:
    """The citation panel for ``answer``: one card per cited passage."""
    if answer is None:
        return NO_CITATIONS
    if answer.abstained or not answer.citations:
        return (
            f"<div class='kb-cites'><div class='kb-cites-q'>{esc(answer.question)}</div>"
            "<div class='kb-abstain'>No passage answers this question, so nothing is cited.</div>"
            "</div>"
        )
    cards = []
    for c in answer.citations:
        lang = LANGUAGES.get(c.lang, c.lang)
        cards.append(
            f"<div class='kb-cite' id='kb-cite-{c.n}'>"
            + (f"<div class='kb-warn'>⚠ {esc(c.warning)}</div>" if c.warning else "")
            + f"<div class='kb-cite-head'><span class='kb-marker'>[{c.n}]</span> "
            f"<span class='kb-title'>{esc(c.title)}</span> › "
            f"<span class='kb-section'>{esc(c.section)}</span></div>"
            f"<div class='kb-cite-meta'><code class='kb-source'>{esc(c.source)}</code> · "
            f"characters {c.start}–{c.end} · quote {c.quote_start}–{c.quote_end} · "
            f"{esc(lang)}</div>"
            f"<blockquote class='kb-passage'>{highlight_passage(c)}</blockquote>"
            "</div>"
        )
    return (
        f"<div class='kb-cites'><div class='kb-cites-q'>{esc(answer.question)}</div>"
        + "".join(cards)
        + "</div>"
    )
