"""The chat in headless Chromium, served as `kb serve` serves it (API and Gradio on one
uvicorn server), answering through a scripted OpenAI-compatible server: the follow-up
is shown as the standalone question searched, the verified answer replaces the
streamed text, and the unverified figure never stays on the page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from llm_servers import scripted_llm
from playwright.sync_api import sync_playwright
from test_api import scripted_reply
from test_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS

from kb.evaluation.load import serve_api
from kb.qa.service import KnowledgeBase

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def llm_app(corpus_kb: KnowledgeBase) -> Iterator[str]:
    with scripted_llm("openai", scripted_reply) as llm:
        settings = corpus_kb.settings.replace(
            llm="openai", llm_base_url=llm.base_url, llm_api_key="test-key", llm_model="s"
        )
        with serve_api(KnowledgeBase(settings, models=corpus_kb.models), with_ui=True) as url:
            yield url


def test_api_and_ui_on_one_server(llm_app: str) -> None:
    assert httpx.get(f"{llm_app}/api/status").json()["llm"] == "openai"
    assert "<html" in httpx.get(f"{llm_app}/").text.lower()


def test_follow_up_streams_then_shows_verified_answer(llm_app: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page: Any = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{llm_app}/", wait_until="domcontentloaded")
            box = page.locator("#kb-question textarea")
            box.fill("Tell me about Claude 3.5 Haiku.")
            box.press("Enter")
            page.locator("#kb-chat .kb-answer").first.wait_for()
            page.wait_for_timeout(500)
            box.fill("And what about its SWE-bench Verified score?")
            box.press("Enter")
            chat = page.locator("#kb-chat")
            chat.get_by_text("Searched as").last.wait_for()
            chat.get_by_text("40.6%").last.wait_for()
            page.locator("#kb-citations mark.kb-quote").first.wait_for()
            page.wait_for_function("() => !document.querySelector('#kb-chat .kb-generating')")
            last = page.locator("#kb-chat .kb-answer").last.inner_text()
            assert "40.6%" in last and "$99" not in last
            assert "Claude 3.5 Haiku" in chat.get_by_text("Searched as").last.inner_text()
        finally:
            browser.close()
