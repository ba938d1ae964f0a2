"""Gradio web UI: wires the page to qa.service.KnowledgeBase, nothing more.

The handler functions (``respond``, ``status_html``, ``sources_rows``,
``rebuild``, ``add_article``) are plain functions of a KnowledgeBase in
ui_handlers.py, testable without a browser; the look (theme, CSS, scripts) is in
ui_style.py; ``build_app`` here lays out the page and connects them.

Concurrency: questions run in their own queue group ("kb-ask"), index changes
(rebuild, upload) in another ("kb-index", one at a time), so a question asked
during a rebuild is answered at once from the old index; ``KnowledgeBase.build``
swaps the new index in when it is done.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import gradio as gr

from kb.cards import EXAMPLES, NO_CITATIONS
from kb.ingest.upload import ALLOWED_EXTENSIONS, MAX_UPLOAD_BYTES
from kb.qa.service import KnowledgeBase
from kb.ui_handlers import (
    History,
    add_article,
    gradio_progress,
    rebuild,
    sources_rows,
    status_html,
)
from kb.ui_style import CSS, SCROLL_TO_QUOTES, THEME

log = logging.getLogger(__name__)

TITLE = "kb · multilingual knowledge base"
DESCRIPTION = (
    "Ask in Korean, Chinese or English. Every answer is taken from the articles in the "
    "knowledge base and cites the passages it used; the quoted sentence is highlighted."
)

SOURCE_HEADERS = ["Title", "File", "Language", "Chunks", "Last indexed"]


# ------------------------------------------------------------------ the page


def build_app(kb: KnowledgeBase) -> gr.Blocks:
    """The Gradio page for ``kb`` (not launched)."""
    demo = gr.Blocks(title=TITLE, analytics_enabled=False)
    with demo:
        gr.Markdown(f"# {TITLE}\n{DESCRIPTION}")
        status = gr.HTML(status_html(kb), elem_id="kb-status")
        with gr.Tab("Ask", id="ask"), gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=380):
                chat = gr.Chatbot(
                    label="Conversation",
                    elem_id="kb-chat",
                    height=520,
                    sanitize_html=True,
                    placeholder="Ask about the articles in the knowledge base.",
                    feedback_options=None,
                    buttons=["copy", "copy_all"],
                )
                with gr.Row():
                    box = gr.Textbox(
                        placeholder="Ask a question (한국어 · 中文 · English) and press Enter",
                        show_label=False,
                        elem_id="kb-question",
                        scale=5,
                        autofocus=True,
                        max_lines=4,
                    )
                    send = gr.Button(
                        "Ask", variant="primary", scale=1, min_width=80, elem_id="kb-ask"
                    )
                gr.Examples(
                    examples=[[q] for q in EXAMPLES], inputs=[box], label="Example questions"
                )
                clear = gr.Button("Clear conversation", size="sm", variant="secondary")
            with gr.Column(scale=2, min_width=340):
                gr.Markdown("### Cited passages")
                cites = gr.HTML(NO_CITATIONS, elem_id="kb-citations")
        with gr.Tab("Sources & index", id="manage"):
            gr.Markdown("### Articles in the index")
            table = gr.Dataframe(
                value=sources_rows(kb),
                headers=SOURCE_HEADERS,
                datatype=["str", "str", "str", "number", "str"],
                interactive=False,
                wrap=True,
                elem_id="kb-sources",
            )
            with gr.Row(equal_height=False):
                with gr.Column(min_width=300):
                    gr.Markdown(
                        "### Rebuild index\nRe-reads the corpus folder and embeds only "
                        "new or changed articles (tick below to re-embed everything)."
                    )
                    full = gr.Checkbox(label="Re-embed everything", value=False)
                    rebuild_btn = gr.Button(
                        "Rebuild index", variant="primary", elem_id="kb-rebuild"
                    )
                    rebuild_msg = gr.Markdown(elem_id="kb-rebuild-msg")
                with gr.Column(min_width=300):
                    gr.Markdown(
                        f"### Add an article\n{', '.join(ALLOWED_EXTENSIONS)}, up to "
                        f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB, UTF-8 or a legacy "
                        "Korean/Chinese encoding."
                    )
                    upload = gr.File(
                        label="Article file",
                        file_types=list(ALLOWED_EXTENSIONS),
                        type="filepath",
                        elem_id="kb-upload",
                    )
                    replace = gr.Checkbox(label="Replace an existing article with the same name")
                    add_btn = gr.Button("Add article", variant="primary", elem_id="kb-add")
                    add_msg = gr.Markdown(elem_id="kb-add-msg")

        def on_ask(message: str, history: History | None) -> Iterator[tuple[str, History, str]]:
            # issue 10: the conversation is passed on; generated text streams in
            from kb.chat import respond_stream

            for new_history, panel in respond_stream(kb, message, history):
                yield "", new_history, panel

        def on_rebuild(
            full_rebuild: bool,
            progress: gr.Progress = gr.Progress(),  # noqa: B008
        ) -> tuple[str, str, list[list[Any]]]:
            msg = rebuild(kb, full=full_rebuild, progress=gradio_progress(progress))
            return msg, status_html(kb), sources_rows(kb)

        def on_add(
            file_path: str | None,
            replace_existing: bool,
            progress: gr.Progress = gr.Progress(),  # noqa: B008
        ) -> tuple[str, str, list[list[Any]], None]:
            msg = add_article(kb, file_path, replace_existing, gradio_progress(progress))
            return msg, status_html(kb), sources_rows(kb), None

        def on_load() -> tuple[str, list[list[Any]]]:
            return status_html(kb), sources_rows(kb)

        ask_io: dict[str, Any] = {
            "fn": on_ask,
            "inputs": [box, chat],
            "outputs": [box, chat, cites],
            "concurrency_id": "kb-ask",
            "concurrency_limit": 4,
            "api_visibility": "private",
        }
        box.submit(**ask_io).then(None, None, None, js=SCROLL_TO_QUOTES)
        send.click(**ask_io).then(None, None, None, js=SCROLL_TO_QUOTES)
        chat.clear(lambda: NO_CITATIONS, None, cites, queue=False, api_visibility="private")
        clear.click(
            lambda: ([], NO_CITATIONS), None, [chat, cites], queue=False, api_visibility="private"
        )
        rebuild_btn.click(
            on_rebuild,
            [full],
            [rebuild_msg, status, table],
            concurrency_id="kb-index",
            concurrency_limit=1,
            api_visibility="private",
        )
        add_btn.click(
            on_add,
            [upload, replace],
            [add_msg, status, table, upload],
            concurrency_id="kb-index",
            concurrency_limit=1,
            api_visibility="private",
        )
        demo.load(on_load, None, [status, table], api_visibility="private")
    demo.queue(max_size=64)
    return demo


def mount_options() -> dict[str, Any]:
    """What ``launch`` passes to Gradio, for mounting the app in the API's server."""
    return {
        "css": CSS,
        "theme": THEME,
        "footer_links": [],
        "ssr_mode": False,
        "max_file_size": 4 * MAX_UPLOAD_BYTES,
        "show_error": False,
    }


def launch(kb: KnowledgeBase, prevent_thread_lock: bool = False) -> gr.Blocks:
    """Serve the app on ``kb.settings.host``:``kb.settings.port`` (127.0.0.1 by default)."""
    demo = build_app(kb)
    demo.launch(
        server_name=kb.settings.host,
        server_port=kb.settings.port,
        css=CSS,
        theme=THEME,
        footer_links=[],
        ssr_mode=False,
        # Gradio refuses anything far over the limit before it is even stored;
        # add_article gives the exact message for files just over it
        max_file_size=4 * MAX_UPLOAD_BYTES,
        quiet=True,
        show_error=False,
        prevent_thread_lock=prevent_thread_lock,
    )
    return demo
