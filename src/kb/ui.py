"""Gradio web UI: wires the page to qa.service.KnowledgeBase, nothing more.

The handler functions (``respond``, ``status_html``, ``sources_rows``,
``rebuild``, ``add_article``) are plain functions of a KnowledgeBase, testable
without a browser; ``build_app`` lays out the page and connects them.

Concurrency: questions run in their own queue group ("kb-ask"), index changes
(rebuild, upload) in another ("kb-index", one at a time), so a question asked
during a rebuild is answered at once from the old index; ``KnowledgeBase.build``
swaps the new index in when it is done.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from kb.cards import (
    EMPTY_PROMPT,
    EXAMPLES,
    LANGUAGES,
    NO_CITATIONS,
    esc,
    render_answer,
    render_citations,
)
from kb.errors import KbError, UploadError
from kb.index.build import BuildReport, Progress
from kb.ingest.upload import (
    ALLOWED_EXTENSIONS,
    MAX_UPLOAD_BYTES,
    check_size,
    save_upload,
    validate_upload,
)
from kb.qa.service import KnowledgeBase

log = logging.getLogger(__name__)

TITLE = "kb · multilingual knowledge base"
DESCRIPTION = (
    "Ask in Korean, Chinese or English. Every answer is taken from the articles in the "
    "knowledge base and cites the passages it used; the quoted sentence is highlighted."
)

SOURCE_HEADERS = ["Title", "File", "Language", "Chunks", "Last indexed"]

# Errors a handler shows as a message instead of failing the request: every
# user-fixable error derives from KbError; anything else is a bug.
_SHOWN_ERRORS = KbError

History = list[dict[str, Any]]

# Local fonts only (the app works offline); Noto CJK covers Korean and Chinese.
THEME = gr.themes.Soft(
    font=["ui-sans-serif", "system-ui", "Noto Sans", "Noto Sans CJK KR", "sans-serif"],
    font_mono=["ui-monospace", "DejaVu Sans Mono", "monospace"],
)

CSS = """
#kb-status { font-size: 0.92em; }
.kb-status { display: flex; flex-wrap: wrap; gap: 0.4em 1.2em; padding: 0.5em 0.8em;
  border: 1px solid var(--border-color-primary); border-radius: 8px;
  background: var(--background-fill-secondary); }
.kb-status b { font-weight: 600; }
.kb-status.kb-missing { border-color: #d97706; }
.kb-cites { display: flex; flex-direction: column; gap: 0.8em; }
.kb-cites-q { font-size: 0.9em; color: var(--body-text-color-subdued); }
.kb-cite { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.6em 0.8em;
  background: var(--background-fill-secondary); }
.kb-cite-head { font-weight: 600; }
.kb-cite-meta { font-size: 0.82em; color: var(--body-text-color-subdued); margin: 0.2em 0 0.4em; }
.kb-cite-meta code { font-size: 0.95em; }
.kb-passage { position: relative; white-space: pre-wrap; word-break: break-word; margin: 0;
  padding: 0.4em 0.6em;
  border-left: 3px solid var(--border-color-accent); font-size: 0.92em; line-height: 1.55;
  max-height: 22em; overflow-y: auto; }
mark.kb-quote { background: #fde68a; color: #111; padding: 0 0.1em; border-radius: 2px; }
.kb-marker { color: var(--color-accent); font-weight: 600; }
.kb-answer-sources { font-size: 0.85em; margin-top: 0.4em; opacity: 0.8; }
.kb-empty, .kb-abstain { color: var(--body-text-color-subdued); font-style: italic; }
.kb-lead { font-weight: 600; }
.kb-quote-line { margin: 0.3em 0 0; padding-left: 0.6em; font-size: 0.92em;
  border-left: 3px solid var(--border-color-primary); color: var(--body-text-color-subdued); }
.kb-item { margin-left: 0.6em; }
.kb-warn { color: #b45309; font-weight: 600; }
"""

# After an answer, scroll each citation card's highlighted quote into view inside
# its (scrollable) passage box, without moving the page.
SCROLL_TO_QUOTES = """() => {
  requestAnimationFrame(() => {
    document.querySelectorAll('#kb-citations .kb-passage').forEach((box) => {
      const mark = box.querySelector('mark.kb-quote');
      if (!mark) return;
      box.scrollTop = Math.max(0, mark.offsetTop - box.clientHeight / 3);
    });
  });
}"""


def respond(kb: KnowledgeBase, message: str, history: History | None) -> tuple[History, str]:
    """Answer ``message``; returns the new chat history and the citation panel HTML."""
    history = list(history or [])
    question = (message or "").strip()
    if not question:
        history.append({"role": "assistant", "content": esc(EMPTY_PROMPT)})
        return history, NO_CITATIONS
    history.append({"role": "user", "content": esc(question)})
    try:
        answer = kb.ask(question)
    except _SHOWN_ERRORS as exc:
        history.append(
            {"role": "assistant", "content": f"<div class='kb-abstain'>⚠ {esc(exc)}</div>"}
        )
        return history, NO_CITATIONS
    history.append({"role": "assistant", "content": render_answer(answer)})
    return history, render_citations(answer)


# ------------------------------------------------------------------ index status


def _when(iso: str) -> str:
    """``2025-11-22T01:55:00+00:00`` -> ``2025-11-22 01:55 UTC``."""
    text = iso.replace("T", " ")
    if text.endswith("+00:00"):
        text = text[: -len("+00:00")]
        text = text[:16] + " UTC"
    return text


def status_html(kb: KnowledgeBase) -> str:
    try:
        s = kb.status()
    except _SHOWN_ERRORS as exc:
        return (
            "<div class='kb-status kb-missing'><span>No index yet: "
            f"{esc(exc)}. Use “Rebuild index” under Manage.</span></div>"
        )
    return (
        "<div class='kb-status'>"
        f"<span><b>{s.documents}</b> documents</span>"
        f"<span><b>{s.chunks}</b> chunks</span>"
        f"<span><b>{s.sentences}</b> sentences</span>"
        f"<span>model <code>{esc(s.model)}</code></span>"
        f"<span>built {esc(_when(s.built_at))}</span>"
        "</div>"
    )


def sources_rows(kb: KnowledgeBase) -> list[list[Any]]:
    """One row per indexed article: title, file, language, chunks, last indexed."""
    try:
        docs = kb.index.manifest.documents
    except _SHOWN_ERRORS:
        return []
    return [
        [
            d.title,
            d.source,
            LANGUAGES.get(d.lang, d.lang),
            len(d.chunk_ids),
            _when(d.indexed_at),
        ]
        for d in sorted(docs.values(), key=lambda d: d.source)
    ]


# ------------------------------------------------------------------ changing the index


def report_text(report: BuildReport) -> str:
    line = report.summary()  # the CLI's line, as a sentence
    text = line[0].upper() + line[1:] + "."
    for s in report.skipped:
        text += f"\nSkipped {s.source}: {s.reason}"
    return text


def rebuild(kb: KnowledgeBase, full: bool = False, progress: Progress | None = None) -> str:
    """Update the index from the corpus folder (``full``: re-embed everything)."""
    try:
        return report_text(kb.build(rebuild=full, progress=progress))
    except _SHOWN_ERRORS as exc:
        return f"⚠ Rebuild failed: {exc}"


def add_article(
    kb: KnowledgeBase,
    file_path: str | os.PathLike[str] | None,
    replace: bool = False,
    progress: Progress | None = None,
    name: str | None = None,
) -> str:
    """Validate an uploaded file, save it into the corpus and update the index.

    ``name`` is the file name the user chose (defaults to ``file_path``'s name:
    Gradio keeps the original name for its temporary copy).
    """
    if not file_path:
        return "⚠ Choose a .md, .txt or .html file first."
    path = Path(file_path)
    try:
        check_size(path.stat().st_size)
        upload = validate_upload(
            name or path.name, path.read_bytes(), kb.settings.corpus_dir, replace=replace
        )
        dest = save_upload(upload, kb.settings.corpus_dir)
    except UploadError as exc:
        return f"⚠ Not added: {exc}"
    except OSError as exc:
        return f"⚠ Not added: cannot read or save the file ({exc.strerror or exc})"
    verb = "Replaced" if upload.replaces else "Saved"
    saved = f"{verb} {dest.name} (“{upload.document.title}”)"
    try:
        report = kb.build(progress=progress)
    except _SHOWN_ERRORS as exc:
        return f"⚠ {saved}, but the index was not updated: {exc}. Use “Rebuild index” later."
    return f"{saved} and updated the index. {report_text(report)}"


def gradio_progress(progress: Any) -> Progress:
    """Adapt a gr.Progress to KnowledgeBase.build's progress(stage, done, total)."""
    labels = {
        "chunk": "Reading articles",
        "embed chunks": "Embedding passages",
        "embed sentences": "Embedding sentences",
    }

    def update(stage: str, done: int, total: int) -> None:
        label = labels.get(stage, stage)
        if total > 0:
            progress((min(done, total), total), desc=label, unit="texts")
        else:
            progress(1.0, desc=f"{label}: nothing new")

    return update


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
