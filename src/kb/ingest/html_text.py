"""The text a browser shows for an HTML page (or for the raw HTML inside Markdown),
with an offset map.

Tokens come from ``html_tokens.py`` (the standard library's ``html.parser``, which
gives exact source spans); this module keeps the stack of open elements and decides
what is visible:

* never shown: tags and their attribute values, comments, declarations, malformed
  or unterminated markup, and the contents of ``<head>``, ``<title>``, ``<script>``,
  ``<style>``, ``<template>``, ``<noscript>``, ``<textarea>``, ``<iframe>``,
  ``<object>``, ``<canvas>``, ``<audio>``, ``<video>``, ``<select>``, closed
  ``<dialog>`` and of any element hidden by its attributes or the page's style
  sheets (``html_hidden.py``);
* elements close as a browser closes them: an end tag closes everything opened
  inside it, a block start tag closes an open ``<p>``, a new ``<li>``, ``<dt>``,
  ``<dd>``, ``<tr>``, ``<td>`` or ``<option>`` closes the previous one, a
  self-closing ``<div/>`` stays open (HTML ignores the slash) except inside SVG
  and MathML, ``</body>`` and ``</html>`` close nothing;
* HTML pages: entities decode, white space collapses to one space outside
  ``<pre>``, block elements end lines (paragraphs, headings, lists, tables: a blank
  line; ``<br>``, ``<div>``, list items, rows: one newline), table cells are
  separated by tabs, and ``<h1>``–``<h6>`` are headings;
* Markdown (``markdown=True``): only HTML is removed; the rest, entities and white
  space included, is copied for the Markdown rules in ``clean.py``, and a hidden
  inline element left open ends at the paragraph's end (a blank line), where a
  Markdown renderer closes it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from kb.ingest.html_hidden import HiddenRules, hidden_classes, hiding_selectors
from kb.ingest.html_tokens import Token, tokenize
from kb.ingest.offsets import Builder


def _names(names: str) -> frozenset[str]:
    return frozenset(names.split())


VOID = _names(
    "area base basefont bgsound br col embed frame hr image img input keygen link meta param "
    "source track wbr"
)
DROP = _names(
    "head title script style template noscript textarea iframe object canvas audio video "
    "noembed noframes frameset datalist select desc metadata"
)
HEAD_OK = _names("title meta link style script base noscript template basefont bgsound")
HEADINGS = {f"h{n}": n for n in range(1, 7)}
PARAGRAPH = _names(
    "p blockquote pre listing xmp table ul ol dl section article header footer figure address "
    "aside main nav details fieldset form hgroup menu dir center hr"
) | frozenset(HEADINGS)
LINE = _names(
    "br div li dt dd tr caption figcaption legend summary option dialog thead tbody tfoot "
    "body html search"
)
PRE = frozenset({"pre", "listing", "xmp", "plaintext"})
CLOSES_P = (PARAGRAPH - {"table"}) | frozenset({"li", "dd", "dt", "plaintext", "div", "summary"})
SCOPE = _names("applet caption html table td th marquee object template button svg math")
# inline elements a Markdown paragraph end closes (anything not a block)
_BLOCKISH = PARAGRAPH | LINE | PRE | DROP | frozenset({"td", "th"})
_WS = " \t\n\r\f"
_PIECE = re.compile(
    r"(?P<ws>[ \t\n\r\f]+)"
    r"|(?P<ent>&(?:#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?))"
    r"|(?P<txt>[^ \t\n\r\f&]+|&)"
)
_BLANK_LINE = re.compile(r"\n[ \t\r\f]*\n")


@dataclass
class _Open:
    tag: str
    hides: bool


@dataclass(frozen=True)
class Visible:
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    headings: tuple[tuple[int, int], ...]  # (clean offset, level)
    title: str | None


class _Walker:
    def __init__(self, source: str, rules: HiddenRules, markdown: bool) -> None:
        self.src = source
        self.rules = rules
        self.markdown = markdown
        self.b = Builder(source)
        self.stack: list[_Open] = []
        self.hidden = 0
        self.pre = 0
        self.foreign = 0
        self.cells = 0
        self.brk = 0
        self.brk_span = (0, 0)
        self.space: tuple[int, int] | None = None
        self.tab: tuple[int, int] | None = None
        self.heading = 0
        self.headings: list[tuple[int, int]] = []
        self.title: list[str] | None = None  # collecting the first <title>
        self.title_text: str | None = None

    # ------------------------------------------------------------ output
    def _request(self, count: int, t: Token) -> None:
        if not self.markdown and count > self.brk:
            self.brk, self.brk_span = count, (t.start, t.end)

    def _flush(self) -> None:
        b = self.b
        if self.brk and b.length:
            b.replace("\n" * self.brk, *self.brk_span)
            self.space = self.tab = None
        line_start = b.length == 0 or b.last() == "\n"
        if self.tab is not None and not line_start:
            b.replace("\t", *self.tab)
        elif self.space is not None and not line_start:
            s, e = self.space
            if self.src[s:e] == " ":
                b.keep(s, e)
            else:
                b.replace(" ", s, e)
        self.brk = 0
        self.space = self.tab = None
        if self.heading:
            self.headings.append((b.length, self.heading))
            self.heading = 0

    def _text(self, start: int, end: int) -> None:
        if self.title is not None:
            self.title.append(self.src[start:end])
        if self.markdown:
            self._markdown_text(start, end)
            return
        if self.hidden or start >= end:
            return
        for m in _PIECE.finditer(self.src, start, end):
            s, e = m.span()
            if m.lastgroup == "ws":
                if self.pre:
                    self._flush()
                    self.b.keep(s, e)
                elif self.space is None:
                    self.space = (s, e)
                continue
            if m.lastgroup == "ent":
                decoded = html.unescape(m.group())
                if decoded != m.group():
                    if not self.pre and decoded.strip(_WS) == "":
                        self.space = self.space or (s, e)
                        continue
                    self._flush()
                    self.b.replace(decoded, s, e)
                    continue
            self._flush()
            self.b.keep(s, e)

    def _markdown_text(self, start: int, end: int) -> None:
        """Copy Markdown text; a blank line closes hidden inline elements left open."""
        while start < end:
            m = _BLANK_LINE.search(self.src, start, end)
            stop = m.end() if m else end
            if not self.hidden:
                self.b.keep(start, stop)
            elif m is not None:
                self.b.keep(m.start(), stop)  # paragraph breaks stay, even hidden ones
            start = stop
            if m is not None:
                while self.stack and self.stack[-1].tag not in _BLOCKISH:
                    self._pop()

    # ------------------------------------------------------------ the element stack
    def _push(self, tag: str, hides: bool) -> None:
        self.stack.append(_Open(tag, hides))
        self.hidden += hides
        self.foreign += tag in ("svg", "math")

    def _pop(self, t: Token | None = None) -> None:
        top = self.stack.pop()
        visible = self.hidden == 0
        self.hidden -= top.hides
        self.foreign -= top.tag in ("svg", "math")
        if top.tag == "title" and self.title is not None:
            self.title_text = " ".join(html.unescape("".join(self.title)).split())
            self.title = None
        if top.tag in HEADINGS:
            self.heading = 0  # an empty heading marks nothing
        if visible and t is not None:
            self.pre -= top.tag in PRE
            if top.tag in PARAGRAPH:
                self._request(2, t)
            elif top.tag in LINE:
                self._request(1, t)

    def _close(self, tag: str, t: Token, boundary: frozenset[str] = SCOPE) -> bool:
        """Close the innermost open ``tag`` unless a ``boundary`` element is nearer."""
        for i in range(len(self.stack) - 1, -1, -1):
            name = self.stack[i].tag
            if name == tag:
                while len(self.stack) > i:
                    self._pop(t)
                return True
            if name in boundary:
                return False
        return False

    def _implied_ends(self, tag: str, t: Token) -> None:
        if any(o.tag == "head" for o in self.stack) and tag not in HEAD_OK:
            self._close("head", t)
        if tag in CLOSES_P:
            self._close("p", t)
        if tag == "li":
            self._close("li", t, SCOPE | {"ul", "ol", "menu"})
        elif tag in ("dd", "dt"):
            if not self._close("dd", t, SCOPE | {"dl"}):
                self._close("dt", t, SCOPE | {"dl"})
        elif tag in ("tr", "td", "th"):
            for cell in ("td", "th"):
                self._close(cell, t, SCOPE - {"td", "th"} | {"tr"})
            if tag == "tr":
                self._close("tr", t, SCOPE - {"td", "th"})
        elif tag == "option":
            self._close("option", t, SCOPE | {"select", "datalist"})
        elif tag in HEADINGS and self.stack and self.stack[-1].tag in HEADINGS:
            self._pop(t)

    # ------------------------------------------------------------ tokens
    def start(self, t: Token) -> None:
        tag = t.tag
        self._implied_ends(tag, t)
        hides = tag in DROP or self.rules.hides(tag, t.attrs)
        if tag in ("html", "body"):
            if hides:
                self._push(tag, True)  # never closed: </body> and </html> close nothing
            return
        if tag in VOID:
            if not self.hidden and tag in ("br", "hr"):
                self._request(1 if tag == "br" else 2, t)
            return
        visible = not self.hidden and not hides
        if visible:
            if tag in PARAGRAPH:
                self._request(2, t)
            elif tag in LINE:
                self._request(1, t)
            if tag in HEADINGS and not self.markdown:
                self.heading = HEADINGS[tag]
            if tag == "tr":
                self.cells = 0
            elif tag in ("td", "th"):
                if self.cells and not self.markdown:
                    self.tab = (t.start, t.end)
                self.cells += 1
            self.pre += tag in PRE
        if tag == "title" and self.title_text is None and not self.foreign:
            self.title = []
        self._push(tag, hides)
        if t.self_closing and self.foreign:
            self._pop(t)

    def end(self, t: Token) -> None:
        tag = t.tag
        if tag in ("html", "body"):
            return
        if tag == "br":
            self.start(Token("start", t.start, t.end, "br"))
        elif not self._close(tag, t, frozenset()) and tag == "p" and not self.hidden:
            self._request(2, t)  # a stray </p> is an empty paragraph

    def run(self, tokens: list[Token]) -> Visible:
        for t in tokens:
            if t.kind == "text":
                self._text(t.start, t.end)
            elif t.kind == "start":
                self.start(t)
            elif t.kind == "end":
                self.end(t)
        if self.title is not None:  # <title> left open
            self.title_text = " ".join(html.unescape("".join(self.title)).split())
        b = self.b
        return Visible(
            b.text(),
            tuple(b.starts),
            tuple(b.ends),
            tuple(self.headings),
            self.title_text or None,
        )


def _style_sheets(source: str, tokens: list[Token]) -> list[str]:
    sheets: list[str] = []
    inside = False
    for t in tokens:
        if t.kind == "start" and t.tag == "style":
            inside = True
            sheets.append("")
        elif t.kind == "end" and t.tag == "style":
            inside = False
        elif inside and t.kind in ("text", "markup"):
            sheets[-1] += source[t.start : t.end]
    return sheets


def visible_text(source: str, markdown: bool = False, mask: str | None = None) -> Visible:
    """What a browser shows of ``source``. ``mask`` (same length as ``source``) is
    tokenized instead of it, e.g. with ``<`` blanked inside Markdown code spans so
    they are not read as markup; the text copied always comes from ``source``."""
    scan = source if mask is None else mask
    if len(scan) != len(source):
        raise ValueError("mask must be as long as the source")
    tokens = tokenize(scan)
    rules = HiddenRules(hidden_classes(), hiding_selectors(_style_sheets(scan, tokens)))
    return _Walker(source, rules, markdown).run(tokens)
