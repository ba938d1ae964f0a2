"""HTML through the standard library's parser: only what a browser shows is indexed,
with every clean character mapped back to the source."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from kb.ingest.clean import clean_html, clean_markdown

HOSTILE = Path(__file__).resolve().parent / "fixtures" / "hostile"


def _check_offsets(source: str, text: str, starts: tuple[int, ...], ends: tuple[int, ...]) -> None:
    """Copied characters map to themselves; a replacement maps to the markup (a tag,
    an entity) or the white space it stands for."""
    assert len(text) == len(starts) == len(ends)
    for i, ch in enumerate(text):
        span = source[starts[i] : ends[i]]
        assert span, (i, ch)
        if span == ch:
            continue
        if span.startswith("&"):
            assert ch in html.unescape(span) or ch == " ", (ch, span)
        else:
            assert ch in " \t\n", (ch, span)
            assert span.startswith("<") or not span.strip(" \t\n\r\f"), (ch, span)
        if i:
            assert starts[i] >= starts[i - 1]


def test_every_kind_of_hidden_markup_is_dropped_and_visible_facts_stay() -> None:
    source = (HOSTILE / "zeta-9-pricing.en.html").read_text(encoding="utf-8")
    cleaned = clean_html(source)
    _check_offsets(source, cleaned.text, cleaned.starts, cleaned.ends)
    assert "HIDDEN" not in cleaned.text
    for hidden in re.findall(r"\(HIDDEN-[A-Z-]+", source):
        assert hidden[1:] not in cleaned.text
    assert "$31" not in cleaned.text and "$44" not in cleaned.text
    assert "pwned" not in cleaned.text and "<" not in cleaned.text and '">' not in cleaned.text
    lines = cleaned.text.splitlines()
    assert "Zeta-9 costs $2 per million input tokens." in lines
    assert "The output price is $10 per million output tokens & batch jobs get a 50% discount." in (
        lines
    )
    assert "Zeta-9 was released in March 2031." in lines
    # a style sheet for print only hides nothing on screen
    assert "Zeta-9 supports a context window of 200K tokens." in lines
    # table cells are tab-separated, rows are lines
    assert "Standard\t$2\t$10" in lines
    # <title> gives the document title, not body text; <h1> is a heading
    assert cleaned.title == "Zeta-9 Model Card"
    assert [h[1] for h in cleaned.headings] == ["Zeta-9 Model Card"]
    assert cleaned.text.count("Zeta-9 Model Card") == 1


def test_the_issue_iframe_leaves_no_attribute_residue() -> None:
    source = (
        '<p>Intro.</p><iframe src="data:text/html,<script>parent.__pwned=4</script>">x</iframe>'
        "<p>Zeta-9 costs $2 per million input tokens.</p>"
    )
    cleaned = clean_html(source)
    assert cleaned.text == "Intro.\n\nZeta-9 costs $2 per million input tokens."
    _check_offsets(source, cleaned.text, cleaned.starts, cleaned.ends)


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        # entities decode; an unknown one is text
        ("<p>a &amp; b &lt;c&gt; &#x4e2d;&#25991; &bogus; &amp</p>", "a & b <c> 中文 &bogus; &"),
        # white space collapses outside <pre>, CRLF included; <br> ends a line
        ("<p>one\r\n   two<br>three</p>", "one two\nthree"),
        ("<pre>a\r\n  b</pre>", "a\r\n  b"),
        # comments, also unclosed ones, hide everything they hold
        ("<p>a<!-- b --> c</p><!-- d", "a c"),
        # a malformed or unterminated tag is never text
        ('<p>a</p><div title="x>y">b</div><p class="', "a\n\nb"),
        ('<p>a <x-unknown data-v="1">b</x-unknown> <a "junk">c</p>', "a b c"),
        # <div/> does not close itself in HTML: a hidden one hides what follows
        ("<div hidden/>secret</div><p>shown</p>", "shown"),
        # a block start closes an open hidden <p>, as in a browser
        ("<p hidden>secret<div>shown</div>", "shown"),
        # raw text elements: markup inside them is not parsed
        ("<textarea><b>x</b></textarea><noscript><p>y</p></noscript>z", "z"),
        ("<title>T</title><p>body</p>", "body"),
        # hidden by style, class and attribute, nested and inline
        ('<p>a<span style="font-size:0">b</span>c</p>', "ac"),
        ('<p>a<span style="font-size: 0.5PX">b</span>c<i style="font-size:2px">d</i></p>', "acd"),
        ('<p>a<span style="width:1px;height:1px;overflow:hidden">b</span></p>', "a"),
        ('<p>a<span class="x sr-only">b</span>c</p>', "ac"),
        ('<style>.k b{display:none}</style><p class="k">a<b>b</b>c</p>', "ac"),
        ('<p>a<span aria-hidden="TRUE"><i>b</i></span>c</p>', "ac"),
        ("<dialog>closed</dialog><dialog open>open</dialog>", "open"),
        ("<p>x</p><select><option>o</option></select><p>y</p>", "x\n\ny"),
        # text after </body> is still shown; a hidden body hides it too
        ("<body><p>a</p></body><p>b</p>", "a\n\nb"),
        ("<body hidden><p>a</p></body><p>b</p>", ""),
        # mixed scripts and a lone "<"
        ("<p>가격 a < b 价格</p>", "가격 a < b 价格"),
    ],
)
def test_what_a_browser_shows(source: str, shown: str) -> None:
    cleaned = clean_html(source)
    assert cleaned.text == shown
    _check_offsets(source, cleaned.text, cleaned.starts, cleaned.ends)


def test_markdown_gets_the_same_treatment_of_raw_html() -> None:
    source = (HOSTILE / "orion-2-safety.en.md").read_text(encoding="utf-8")
    cleaned = clean_markdown(source)
    assert "HIDDEN" not in cleaned.text
    assert "reviewer note" not in cleaned.text and "document.title" not in cleaned.text
    assert "Orion-2 scored 71.5% on the GPQA Diamond benchmark." in cleaned.text
    assert "Orion-2 answers in under 300 ms on average." in cleaned.text
    # code spans are not markup: "<script>" in backticks does not swallow the rest
    assert "a < b holds for every score." in cleaned.text
    assert "Orion-2 costs $4 per million input tokens & $20" in cleaned.text
    assert cleaned.title == "Orion-2 safety report"
    for i, ch in enumerate(cleaned.text):
        span = source[cleaned.starts[i] : cleaned.ends[i]]
        assert ch == span or (ch == "&" and span == "&amp;"), (ch, span)


def test_markdown_hidden_inline_element_left_open_ends_with_its_paragraph() -> None:
    source = "Fact one <span hidden>secret\nstill secret\n\nFact two.\n"
    assert clean_markdown(source).text == "Fact one \n\nFact two.\n"
    # a fenced code block is never read as markup
    fenced = "```html\n<script>\n```\n\nAfter the fence.\n"
    assert "After the fence." in clean_markdown(fenced).text
