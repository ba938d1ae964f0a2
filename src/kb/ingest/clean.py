"""Markup removal that remembers where every kept character came from.

``clean(text, fmt)`` returns the indexed text plus, for each clean character, the
span of the original text that produced it, and the headings found on the way.
A character copied from the original maps to itself; a replacement (a decoded
HTML entity, a newline standing for a block tag, a space standing for collapsed
white space) maps to the whole markup span.

HTML goes through ``html_text.py`` (the standard library's parser; only what a
browser shows is kept). Markdown is cleaned by the rules below, after the raw HTML
inside it has been through the same parser (code spans and fences excepted), so
hidden elements, comments, script and style contents and attribute values never
reach the clean text.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Callable
from dataclasses import dataclass

from kb.ingest.html_text import Visible, visible_text
from kb.ingest.offsets import Builder, heading_lines

# Text formats by file extension.
FORMATS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
}


@dataclass(frozen=True)
class Cleaned:
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    headings: tuple[tuple[int, str, int], ...]  # (clean offset, heading text, level 1-6)
    title: str | None  # from front matter or <title>
    # clean offsets where degenerate text was cut out (ingest/limits.py): no chunk,
    # section or list may span one, or its source span would hold that text
    breaks: tuple[int, ...] = ()


# A rule: pattern plus a handler that writes into the builder and may report a heading.
_Handler = Callable[[re.Match[str], Builder], str | None]  # "headingN" marks a heading

_FRONT_MATTER = re.compile(r"\A(?:\ufeff)?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_TITLE_LINE = re.compile(r"^title:\s*(.+?)\s*$", re.M)


def _drop(m: re.Match[str], b: Builder) -> None:
    return None


def _keep_group(group: str) -> _Handler:
    """Keep only the named group of the match (rule groups share one namespace)."""

    def handler(m: re.Match[str], b: Builder) -> None:
        b.keep(m.start(group), m.end(group))

    return handler


def _md_heading(m: re.Match[str], b: Builder) -> str:
    """Marks a heading; its level is the number of '#' or the N of <hN>."""
    marks = m.group(0).count("#")
    if marks:
        return f"heading{marks}"
    level = re.search(r"[1-6]", m.group(0))
    return f"heading{level.group(0) if level else 1}"


def _entity(m: re.Match[str], b: Builder) -> None:
    b.replace(html.unescape(m.group(0)), m.start(), m.end())


_MD_RULES: list[tuple[str, _Handler]] = [
    (r"<!--.*?-->", _drop),
    (r"!\[[^\]\n]*\]\([^)\n]*\)", _drop),  # images
    (r"\[\[[^\]\n]*\]\]\([^)\n]*\)", _drop),  # [[TOP]](#index)
    (r"\[[^\]\n]*\]\(#[^)\n]*\)", _drop),  # in-page anchor links (tables of contents)
    (r"\[(?P<link>[^\]\n]*)\]\([^)\n]*\)", _keep_group("link")),  # links keep their text
    (r"(?im)<br\s*/?>", _drop),
    (r"</?[a-zA-Z][^>\n]*>", _drop),  # inline HTML tags
    (r"(?m)^[ \t]{0,3}#{1,6}[ \t]+", _md_heading),
    (r"(?m)^[ \t]{0,3}(?:-{3,}|\*{3,}|_{3,})[ \t]*$", _drop),  # rules
    (r"(?m)^[ \t]{0,3}>[ \t]?", _drop),  # blockquote markers
    (r"\*\*|__|`+", _drop),
    (r"&(?:[a-zA-Z]{2,8}|#\d{1,6}|#x[0-9a-fA-F]{1,6});", _entity),
]


def _compile(rules: list[tuple[str, _Handler]]) -> tuple[re.Pattern[str], list[_Handler]]:
    """One alternation of all rules; leading inline flags become scoped flags."""
    alternatives = []
    for i, (p, _) in enumerate(rules):
        m = re.match(r"\(\?([a-zA-Z]+)\)", p)
        if m:
            p = f"(?{m.group(1)}:{p[m.end() :]})"
        alternatives.append(f"(?P<r{i}>{p})")
    return re.compile("|".join(alternatives)), [h for _, h in rules]


_MD = _compile(_MD_RULES)


def _run(text: str, start: int, compiled: tuple[re.Pattern[str], list[_Handler]]) -> Cleaned:
    pattern, handlers = compiled
    b = Builder(text)
    headings: list[tuple[int, int]] = []
    pos = start
    for m in pattern.finditer(text, start):
        b.keep(pos, m.start())
        group = m.lastgroup
        assert group is not None
        outcome = handlers[int(group[1:])](m, b)
        if outcome and outcome.startswith("heading"):
            headings.append((b.length, int(outcome[7:])))
        pos = m.end()
    b.keep(pos, len(text))
    clean_text = b.text()
    return Cleaned(
        clean_text, tuple(b.starts), tuple(b.ends), heading_lines(clean_text, headings), None
    )


# Markdown code: fences (to the closing fence or the end) and inline code spans.
_CODE = re.compile(
    r"(?ms)^[ \t]{0,3}(?P<fence>`{3,}|~{3,}).*?(?:^[ \t]{0,3}(?P=fence)[ \t]*$|\Z)"
    r"|(?P<ticks>`+)(?:(?!\n[ \t]*\n).)+?(?P=ticks)"
)


def _html_mask(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with ``<`` and ``&`` blanked inside ``spans``: not read as markup."""
    chars = list(text)
    for s, e in spans:
        for i in range(s, e):
            if chars[i] in "<&":
                chars[i] = " "
    return "".join(chars)


def clean_markdown(text: str) -> Cleaned:
    title = None
    start = 0
    fm = _FRONT_MATTER.match(text)
    if fm:
        t = _TITLE_LINE.search(fm.group(1))
        if t:
            title = t.group(1).strip().strip("\"'").strip()
        start = fm.end()
    code = [m.span() for m in _CODE.finditer(text, start)]
    mask = _html_mask(text, [(0, start), *code]) if "<" in text else text
    inner = visible_text(text, markdown=True, mask=mask)
    result = _run(inner.text, bisect.bisect_left(inner.starts, start), _MD)
    starts = tuple(inner.starts[i] for i in result.starts)
    ends = tuple(inner.ends[i - 1] for i in result.ends)
    return Cleaned(result.text, starts, ends, result.headings, title)


def _from_visible(v: Visible) -> Cleaned:
    return Cleaned(v.text, v.starts, v.ends, heading_lines(v.text, list(v.headings)), v.title)


def clean_html(text: str) -> Cleaned:
    return _from_visible(visible_text(text))


# Plain-text headings: a short line with no sentence-final punctuation, standing alone.
_SENTENCE_END = tuple(".!?。！？:：;；,，、)")


def _looks_like_heading(line: str) -> bool:
    s = line.strip()
    if not 2 <= len(s) <= 40 or s.endswith(_SENTENCE_END) or "\t" in s:
        return False
    if s.startswith(("-", "*", "•", "·", "#제", "(", "[")):
        return False
    return not re.fullmatch(r"[\d\W_]+", s)


def clean_text(text: str) -> Cleaned:
    n = len(text)
    headings = []
    offset = 0
    for line in text.splitlines(keepends=True):
        if _looks_like_heading(line):
            lead = len(line) - len(line.lstrip())
            headings.append((offset + lead, line.strip(), 2))
        offset += len(line)
    return Cleaned(text, tuple(range(n)), tuple(range(1, n + 1)), tuple(headings), None)


def clean(text: str, fmt: str) -> Cleaned:
    if fmt == "markdown":
        return clean_markdown(text)
    if fmt == "html":
        return clean_html(text)
    return clean_text(text)
