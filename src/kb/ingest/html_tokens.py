"""HTML tokens with their exact source spans, from the standard library's parser.

``html.parser`` is the only maintained parser at hand that reports where each token
sits in the source (lxml, selectolax and html5lib give a tree, or line numbers at
best), and the offset map needs exact spans. It is used here as a tokenizer only;
which text a browser shows is decided in ``html_text.py``.

Every token is reported to ``handle_*`` and then the parser advances its position
with ``updatepos(i, j)``: the span ``[i, j)`` of that token. Overriding
``updatepos`` pairs each token with its span. A few behaviours of the tokenizer are
brought closer to a browser's:

* the whole text is handed over at once and parsed as if followed by end of input,
  so every offset is an index into the text;
* constructs left open at the end of the input (a comment, a tag, a declaration)
  hide the rest of the text, as in a browser, instead of coming back as text;
* text the tokenizer gives back for a malformed tag (``<a "b>``) is markup;
* ``<textarea>``, ``<title>``, ``<iframe>``, ``<noscript>``, ``<noembed>`` and
  ``<noframes>`` hold raw text up to their end tag, as ``<script>`` and ``<style>``
  do, so markup inside them is never parsed as tags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

# "<" followed by one of these opens markup in a browser; anything else is text.
_MARKUP_OPEN = re.compile(r"<[a-zA-Z!/?]")


@dataclass(frozen=True)
class Token:
    """``kind`` is start, end, text or markup (comments, declarations, junk)."""

    kind: str
    start: int
    end: int
    tag: str = ""
    attrs: tuple[tuple[str, str | None], ...] = ()
    self_closing: bool = False


class _Tokenizer(HTMLParser):
    CDATA_CONTENT_ELEMENTS = (  # type: ignore[misc]  # extended on purpose
        "script",
        "style",
        "textarea",
        "title",
        "iframe",
        "noscript",
        "noembed",
        "noframes",
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[Token] = []
        self._pending: list[tuple[str, str, tuple[tuple[str, str | None], ...], bool]] = []

    # -- events
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._pending.append(("start", tag, tuple(attrs), False))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._pending.append(("start", tag, tuple(attrs), True))

    def handle_endtag(self, tag: str) -> None:
        self._pending.append(("end", tag, (), False))

    def handle_data(self, data: str) -> None:
        self._pending.append(("text", "", (), False))

    def handle_comment(self, data: str) -> None:
        self._pending.append(("markup", "", (), False))

    def handle_decl(self, decl: str) -> None:
        self.handle_comment(decl)

    def handle_pi(self, data: str) -> None:
        self.handle_comment(data)

    def unknown_decl(self, data: str) -> None:
        self.handle_comment(data)

    # -- spans
    def updatepos(self, i: int, j: int) -> int:
        if i < j:
            if not self._pending:
                self.tokens.append(Token("markup", i, j))  # consumed silently (``</>``)
            for kind, tag, attrs, closed in self._pending:
                if kind == "text" and _MARKUP_OPEN.match(self.rawdata, i):
                    kind = "markup"  # a malformed tag handed back as text
                self.tokens.append(Token(kind, i, j, tag, attrs, closed))
            self._pending.clear()
        return super().updatepos(i, j)

    # -- unterminated constructs hide the rest of the input, as in a browser
    def _to_end(self, i: int, parsed: int) -> int:
        return len(self.rawdata) if parsed < 0 else parsed

    def _bogus(self, i: int) -> int:
        """A construct the tokenizer rejects: markup up to the next ``>``."""
        self._pending.clear()
        gt = self.rawdata.find(">", i + 1)
        return len(self.rawdata) if gt < 0 else gt + 1

    def parse_starttag(self, i: int) -> int:
        return self._to_end(i, super().parse_starttag(i))

    def parse_endtag(self, i: int) -> int:
        return self._to_end(i, super().parse_endtag(i))

    def parse_comment(self, i: int, report: bool = True) -> int:
        try:
            return self._to_end(i, super().parse_comment(i, report))
        except AssertionError:
            return self._bogus(i)

    def parse_pi(self, i: int) -> int:
        return self._to_end(i, super().parse_pi(i))

    def parse_html_declaration(self, i: int) -> int:
        try:
            return self._to_end(i, super().parse_html_declaration(i))
        except AssertionError:
            return self._bogus(i)

    def run(self, text: str) -> list[Token]:
        self.rawdata = text
        self.close()  # parse everything as if followed by end of input
        return self.tokens


def tokenize(text: str) -> list[Token]:
    """Tokens of ``text`` in order; spans never overlap and leave no gaps except
    where the input ends inside raw text (an unclosed ``<script>``)."""
    tokens = _Tokenizer().run(text)
    out: list[Token] = []
    pos = 0
    for t in tokens:
        if t.start < pos:  # defensive: a span reported twice
            if t.end <= pos:
                continue
            t = Token(t.kind if t.kind != "text" else "markup", pos, t.end, t.tag, t.attrs)
        out.append(t)
        pos = t.end
    if pos < len(text):  # unclosed raw-text element (script, textarea, …) to the end
        out.append(Token("text", pos, len(text)))
    return out
