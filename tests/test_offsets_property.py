"""Property-based tests of the offset contract (hypothesis) on generated markup:
nested and unclosed tags, attributes holding < and >, comments, entities, mixed
scripts, CRLF. For every clean character, chunk and sentence the source span is
what is shown (a decoded entity or a stand-in newline maps to its whole markup
span), and no text a browser hides reaches the clean text."""

from __future__ import annotations

import html

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kb.errors import IngestError
from kb.ingest.chunk import ChunkerConfig, chunk_document
from kb.ingest.clean import Cleaned, clean_html, clean_markdown
from kb.ingest.document import Document
from kb.ingest.load import load_bytes

SECRET = "SECRET"  # every hidden text holds it; no visible text does
FAST = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

WORDS = st.sampled_from(
    ["Zeta-9", "costs", "$2", "가격은", "3달러입니다", "价格为", "两美元", "tokens", "모델", "模型",
     "a < b", "x&y", "5 > 4", "émigré", "Ωmega"]
)  # fmt: skip
SEPARATORS = st.sampled_from([" ", "  ", "\r\n", "\n", ". ", "。", "! ", "\t", "\r\n\r\n"])
ENTITIES = st.sampled_from(
    ["&amp;", "&lt;", "&gt;", "&#37;", "&#x4e2d;", "&nbsp;", "&bogus;", "&amp ", "&#169;"]
)
ATTR_VALUES = st.sampled_from(["x", "a > b", "<script>", "1 < 2", "it's", 'say "hi"', ""])


def _attr(name: str, value: str) -> str:
    quote = "'" if '"' in value else '"'
    return f" {name}={quote}{value}{quote}"


@st.composite
def visible_text(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.one_of(WORDS, ENTITIES), min_size=1, max_size=4))
    seps = draw(st.lists(SEPARATORS, min_size=len(parts), max_size=len(parts)))
    return "".join(p + s for p, s in zip(parts, seps, strict=True))


def _secret_text(draw: st.DrawFn) -> str:
    return f"{SECRET} {draw(WORDS)}"


@st.composite
def hidden(draw: st.DrawFn) -> str:
    """One construct a browser does not show, holding SECRET."""
    secret = _secret_text(draw)
    kind = draw(st.integers(0, 12))
    if kind == 0:
        return f"<!-- {secret} <p>x</p> & -->"
    if kind == 10:  # declarations, processing instructions, CDATA: bogus comments
        return draw(
            st.sampled_from(["<![CDATA[{}]]>", "<?x {} ?>", "<!x {}>", "<!DOCTYPE {}>"])
        ).format(secret)
    if kind == 11:  # <div/> stays open in HTML; a block start closes an open <p>
        return draw(st.sampled_from(["<div hidden/>{}</div>", "<p hidden>{}"])).format(secret)
    if kind == 12:  # a hidden value: hidden="false" still hides
        return f'<span hidden="false">{secret}</span>'
    if kind == 1:
        tag = draw(st.sampled_from(["script", "style", "textarea", "iframe", "noscript", "title"]))
        return f"<{tag}>{secret} <p>{secret}</p></{tag}>"
    if kind == 2:
        return f"<template><div>{secret}</div><p>{secret}</template>"
    if kind == 3:
        value = draw(ATTR_VALUES)
        return f'<img alt="{secret}"{_attr("title", value)}><span{_attr("data-x", secret)}></span>'
    # a hidden element; only inline children, so no block start closes it early
    tag = draw(st.sampled_from(["span", "div", "section", "x-box", "b"]))
    how = draw(
        st.sampled_from(
            [" hidden", ' style="display: none"', " style='visibility:hidden'",
             ' aria-hidden="true"', ' class="note sr-only"', ' class="zz"',
             ' style="opacity:0"']
        )
    )  # fmt: skip
    inner = draw(st.sampled_from(["", "<b>", "<i>", "<em>", "<span>"]))
    closed = draw(st.booleans())
    return f"<{tag}{how}>{inner}{secret}" + (f"</{tag}>" if closed else "")


@st.composite
def element(draw: st.DrawFn, depth: int = 0) -> str:
    tag = draw(
        st.sampled_from(["p", "div", "span", "b", "li", "td", "tr", "h2", "pre", "a", "x-tag",
                         "section", "em", "table", "ul", "br"])
    )  # fmt: skip
    attrs = "".join(_attr(n, draw(ATTR_VALUES)) for n in draw(st.sampled_from([[], ["title"]])))
    if tag == "br":
        return f"<br{attrs}>"
    children = draw(
        st.lists(
            st.one_of(visible_text(), hidden(), element(depth + 1))
            if depth < 2
            else st.one_of(visible_text(), hidden()),
            max_size=3,
        )
    )
    end = draw(st.sampled_from([f"</{tag}>", f"</{tag.upper()} >", ""]))
    return f"<{tag}{attrs}>" + "".join(children) + end


@st.composite
def html_page(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from(["", "<!DOCTYPE html>", "<html><head><title>T SECRET</title>"]))
    style = "<style>.zz { display: none }</style>"
    body = draw(
        st.lists(
            st.one_of(element(), visible_text(), hidden(), st.sampled_from(["</p>", "</x>", "<"])),
            min_size=1,
            max_size=6,
        )
    )
    tail = draw(st.sampled_from(["", f"<!-- {SECRET}", f"<script>{SECRET}", f'<p title="{SECRET}']))
    return head + style + "".join(body) + tail


def _markdown_line(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 6))
    text = draw(visible_text()).replace("\r\n\r\n", " ")
    if kind == 0:
        return f"# {text}"
    if kind == 1:
        return f"- **{text}** [{draw(WORDS)}](https://example.com/a?b=1)"
    if kind == 2:
        return f"`{draw(WORDS)} <b>` {text}"
    if kind == 3:
        return text + draw(hidden()) + draw(visible_text()).replace("\r\n\r\n", " ")
    if kind == 4:
        return f"> {text} <br> ![img {SECRET}](x.png)"
    return text


@st.composite
def markdown_page(draw: st.DrawFn) -> str:
    lines = [_markdown_line(draw) for _ in range(draw(st.integers(1, 6)))]
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    blank = draw(st.sampled_from(["", newline]))
    front = draw(st.sampled_from(["", f"---{newline}title: Doc{newline}---{newline}"]))
    style = "<style>.zz { display: none }</style>" + newline
    return front + style + (newline + blank).join(lines) + newline


def _check_map(source: str, cleaned: Cleaned) -> None:
    text = cleaned.text
    assert SECRET not in text, text
    assert len(text) == len(cleaned.starts) == len(cleaned.ends)
    previous = 0
    for i, ch in enumerate(text):
        s, e = cleaned.starts[i], cleaned.ends[i]
        assert 0 <= s < e <= len(source)
        assert s >= previous
        previous = s
        span = source[s:e]
        if span == ch:
            continue
        if span.startswith("&"):  # a decoded entity (or the space standing for one)
            assert ch in html.unescape(span) or ch in " \u00a0", (ch, span)
        else:  # a stand-in for a tag or collapsed white space
            assert ch in " \t\n", (ch, span)
            assert span.startswith("<") or not span.strip(" \t\n\r\f"), (ch, span)


def _check_chunks(doc: Document) -> None:
    cfg = ChunkerConfig(chunk_size=80, chunk_overlap=10)
    for c in chunk_document(doc, cfg):
        assert doc.text[c.start : c.end] == c.raw
        assert SECRET not in c.text
        for s in c.sentences:
            assert SECRET not in s.text
            assert c.start <= s.start < s.end <= c.end
            at = doc.clean_text.find(s.text)
            while at >= 0 and doc.orig_span(at, at + len(s.text)) != (s.start, s.end):
                at = doc.clean_text.find(s.text, at + 1)
            assert at >= 0, s  # the sentence is clean text mapping to exactly its span
            starts = doc.clean_to_orig[at : at + len(s.text)]
            ends = doc.clean_to_orig_end[at : at + len(s.text)]
            verbatim = all(
                e == o + 1 and doc.text[o] == ch and (i == 0 or o == starts[i - 1] + 1)
                for i, (o, e, ch) in enumerate(zip(starts, ends, s.text, strict=True))
            )
            if verbatim:  # text copied as is: the source span is exactly the text
                assert doc.text[s.start : s.end] == s.text


@FAST
@given(html_page())
def test_html_offsets_and_nothing_hidden(source: str) -> None:
    _check_map(source, clean_html(source))


@FAST
@given(markdown_page())
def test_markdown_offsets_and_nothing_hidden(source: str) -> None:
    _check_map(source, clean_markdown(source))


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    st.one_of(html_page().map(lambda s: ("x.html", s)), markdown_page().map(lambda s: ("x.md", s)))
)
def test_chunks_and_sentences_map_to_what_is_shown(named: tuple[str, str]) -> None:
    name, source = named
    try:
        doc = load_bytes(source.encode("utf-8"), name)
    except IngestError:
        assume(False)  # nothing visible
        return
    _check_chunks(doc)
