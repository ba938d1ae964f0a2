"""The web UI's handler functions: plain functions of a KnowledgeBase (ask, index
status, the article list, rebuild, upload), testable without a browser or gradio."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kb.cards import EMPTY_PROMPT, LANGUAGES, NO_CITATIONS, esc, render_answer, render_citations
from kb.errors import KbError, UploadError
from kb.index.build import BuildReport, Progress
from kb.ingest.upload import check_size, save_upload, validate_upload
from kb.qa.service import KnowledgeBase

# Errors a handler shows as a message instead of failing the request: every
# user-fixable error derives from KbError; anything else is a bug.
_SHOWN_ERRORS = KbError

History = list[dict[str, Any]]


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
