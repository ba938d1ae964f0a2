"""The real app in headless Chromium: ask in Korean, see the cited, highlighted quote.

Needs Debian's chromium and fonts-noto-cjk (.ci/run installs them); without
/usr/bin/chromium these tests fail rather than skip.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from kb.models.loaded import Models
from kb.qa.service import KnowledgeBase
from kb.settings import Settings

CHROMIUM = Path(os.environ.get("KB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
KOREAN_Q = "클로드 하이쿠 4.5의 SWE-bench Verified 점수는?"
TIMEOUT_MS = 90_000

pytestmark = pytest.mark.browser

NEW_ARTICLE = (
    "# 부산 바다 도서관\n\n## 이용 안내\n"
    "부산 바다 도서관은 해운대 해변 옆에 있으며 매주 월요일에 휴관합니다. "
    "열람실 좌석은 모두 120석이고 무료로 이용할 수 있습니다.\n"
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(corpus_kb: KnowledgeBase) -> Iterator[str]:
    """The app on a free 127.0.0.1 port, in this process (background server thread)."""
    settings = corpus_kb.settings.replace(host="127.0.0.1", port=_free_port())
    kb = KnowledgeBase(settings, models=corpus_kb.models)
    from kb import ui  # gradio: imported by the browser tier only

    demo = ui.launch(kb, prevent_thread_lock=True)
    try:
        yield f"http://127.0.0.1:{settings.port}/"
    finally:
        demo.close()


@pytest.fixture(scope="session", autouse=True)
def _require_chromium() -> None:
    """Fail (never skip) at once when the browser is missing, before any index is built."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium and fonts-noto-cjk "
            "(apt-get install chromium fonts-noto-cjk, as .ci/run does)",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _open(browser: Any, url: str) -> Any:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ko-KR")
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    pg.goto(url, wait_until="domcontentloaded")
    return pg


@pytest.fixture()
def page(browser: Any, app_url: str) -> Iterator[Any]:
    pg = _open(browser, app_url)
    try:
        yield pg
    finally:
        pg.context.close()


@pytest.fixture()
def tiny_app_url(tiny_corpus: Path, tmp_path: Path, models: Models) -> Iterator[str]:
    """A writable app over the tiny fixture corpus (for uploads)."""
    settings = Settings(corpus_dir=tiny_corpus, index_dir=tmp_path / "index", port=_free_port())
    kb = KnowledgeBase(settings, models=models)
    kb.build()
    from kb import ui  # gradio: imported by the browser tier only

    demo = ui.launch(kb, prevent_thread_lock=True)
    try:
        yield f"http://127.0.0.1:{settings.port}/"
    finally:
        demo.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def test_korean_question_shows_answer_and_highlighted_citation(
    page: Any, corpus_kb: KnowledgeBase, shots: Path
) -> None:
    box = page.locator("#kb-question textarea")
    box.fill(KOREAN_Q)
    box.press("Enter")

    page.locator("#kb-chat").get_by_text("73.3%").first.wait_for()
    bot = page.locator("#kb-chat .kb-answer").last
    assert "73.3%" in bot.inner_text()
    assert "[1]" in bot.inner_text()
    assert KOREAN_Q in page.locator("#kb-chat").inner_text()

    panel = page.locator("#kb-citations")
    mark = panel.locator("mark.kb-quote").first
    mark.wait_for()
    assert "73.3%" in mark.inner_text()
    titles = panel.locator(".kb-title").all_inner_texts()
    answer = corpus_kb.ask(KOREAN_Q)
    assert titles == [c.title for c in answer.citations]
    assert "Claude Haiku 4.5" in titles
    assert panel.locator(".kb-source").first.inner_text() == answer.citations[0].source
    # the mark is painted (highlight visible), inside the passage block
    assert panel.locator(".kb-passage mark.kb-quote").count() == len(answer.citations)
    bg = mark.evaluate("el => getComputedStyle(el).backgroundColor")
    assert bg not in ("rgba(0, 0, 0, 0)", "transparent")

    status = page.locator("#kb-status").inner_text()
    s = corpus_kb.status()
    assert f"{s.documents} documents" in status
    assert f"{s.chunks} chunks" in status
    assert s.model in status
    assert "built " in status

    shot = shots / "ask-korean.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000


def test_blank_question_gets_a_prompt(page: Any) -> None:
    page.locator("#kb-ask").click()
    page.locator("#kb-chat").get_by_text("Please type a question").wait_for()


def test_sources_tab_lists_articles_and_rebuild_reports(
    page: Any, corpus_kb: KnowledgeBase, shots: Path
) -> None:
    page.get_by_role("tab", name="Sources & index").click()
    table = page.locator("#kb-sources")
    docs = corpus_kb.index.manifest.documents.values()
    for d in docs:
        expect(table).to_contain_text(d.source)
        expect(table).to_contain_text(d.title)
    text = table.inner_text()
    assert "Korean" in text and "Chinese" in text

    page.locator("#kb-rebuild").click()
    msg = page.locator("#kb-rebuild-msg")
    expect(msg).to_contain_text(f"Indexed {len(docs)} documents")
    assert "added 0" in msg.inner_text()
    page.screenshot(path=str(shots / "sources.png"), full_page=True)


def test_upload_article_then_ask_about_it(
    browser: Any, tiny_app_url: str, tmp_path: Path, shots: Path
) -> None:
    src = tmp_path / "upload" / "Busan Sea Library.ko.md"
    src.parent.mkdir()
    src.write_text(NEW_ARTICLE, encoding="utf-8")
    page = _open(browser, tiny_app_url)
    try:
        expect(page.locator("#kb-status")).to_contain_text("3 documents")
        page.get_by_role("tab", name="Sources & index").click()
        page.locator("#kb-upload input[type=file]").set_input_files(str(src))
        page.locator("#kb-add").click()
        msg = page.locator("#kb-add-msg")
        expect(msg).to_contain_text("Saved busan-sea-library.ko.md")
        assert "added 1" in msg.inner_text()
        expect(page.locator("#kb-status")).to_contain_text("4 documents")
        expect(page.locator("#kb-sources")).to_contain_text("부산 바다 도서관")
        page.screenshot(path=str(shots / "upload.png"), full_page=True)

        page.get_by_role("tab", name="Ask").click()
        box = page.locator("#kb-question textarea")
        box.fill("부산 바다 도서관의 열람실 좌석은 몇 석인가요?")
        box.press("Enter")
        expect(page.locator("#kb-chat .kb-answer").last).to_contain_text("120")
        expect(page.locator("#kb-citations")).to_contain_text("busan-sea-library.ko.md")
    finally:
        page.context.close()


def test_lead_line_quote_and_highlight_scrolled_into_view(page: Any, shots: Path) -> None:
    """The answer bubble leads with the lead line, the quote under it; in the card
    the highlighted sentence is scrolled into view inside its passage box."""
    box = page.locator("#kb-question textarea")
    box.fill("클로드 3.5 소네트의 안전 등급은?")
    box.press("Enter")
    lead = page.locator("#kb-chat .kb-answer .kb-lead").last
    expect(lead).to_contain_text("ASL-2")
    assert lead.inner_text().startswith("Claude 3.5 Sonnet의 안전 등급")
    expect(page.locator("#kb-chat .kb-answer .kb-quote-line").last).to_contain_text(
        "ASL-2(Anthropic Safety Level 2)"
    )
    passage = page.locator("#kb-citations .kb-passage").first
    mark = passage.locator("mark.kb-quote")
    mark.wait_for()
    # the scroll runs after the answer is rendered: wait until the mark is inside the box
    page.wait_for_function(
        """() => {
          const box = document.querySelector('#kb-citations .kb-passage');
          const mark = box && box.querySelector('mark.kb-quote');
          if (!mark) return false;
          const b = box.getBoundingClientRect(), m = mark.getBoundingClientRect();
          return m.top >= b.top - 1 && m.bottom <= b.bottom + 1;
        }"""
    )
    page.screenshot(path=str(shots / "lead-and-quote.png"), full_page=True)


def test_html_passage_is_shown_as_text(browser: Any, tiny_app_url: str) -> None:
    page = _open(browser, tiny_app_url)
    try:
        box = page.locator("#kb-question textarea")
        box.fill("How long does the bike shop take to repair flat tyres?")
        box.press("Enter")
        passage = page.locator("#kb-citations .kb-passage").first
        expect(passage).to_contain_text("20 minutes")
        text = passage.inner_text()
        assert "<p>" not in text and "<b>" not in text and "&amp;" not in text
        assert "& repairs flat tyres" in text
        expect(passage.locator("mark.kb-quote")).to_contain_text("20 minutes")
    finally:
        page.context.close()
