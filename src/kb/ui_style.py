"""The web UI's look: theme, style sheet and the script that scrolls each
citation card to its highlighted quote."""

from __future__ import annotations

import gradio as gr

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
