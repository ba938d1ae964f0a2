"""Watch the corpus folder and call back (to re-index) shortly after files change.

``watch_corpus`` is the loop behind ``kb index --watch``. Changes are debounced:
the callback runs once the folder has been quiet for ``debounce`` seconds (or
after ``10 * debounce`` seconds of continuous changes), with the corpus-relative
paths that changed. Changes made while the callback runs are collected and
trigger the next call. Hidden files and folders (``.kb_index``, editor swap
files, ``.git``) and folders passed in ``ignore`` are not watched.

The loop ends when ``stop`` is set (checked every few tens of milliseconds) or,
in the main thread, on Ctrl-C (KeyboardInterrupt is raised to the caller).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from watchfiles import Change, watch

from kb.ingest.clean import FORMATS

log = logging.getLogger(__name__)

# on_change(changed paths relative to the corpus folder, sorted; [] for the first call)
OnChange = Callable[[list[str]], None]

DEFAULT_DEBOUNCE = 1.0


class _CorpusFilter:
    """Keep changes to article files and to folders (a folder moved or deleted
    takes its articles with it); drop hidden paths and ignored folders."""

    def __init__(self, corpus_dir: Path, ignore: Sequence[Path]) -> None:
        self.corpus_dir = corpus_dir.resolve()
        self.ignore = [p.resolve() for p in ignore]

    def relative(self, path: str) -> str | None:
        p = Path(path)
        try:
            rel = p.relative_to(self.corpus_dir)
        except ValueError:
            return None
        if any(part.startswith(".") for part in rel.parts):
            return None
        if any(p == ig or ig in p.parents for ig in self.ignore):
            return None
        return rel.as_posix()

    def __call__(self, change: Change, path: str) -> bool:
        rel = self.relative(path)
        if rel is None or not rel or rel == ".":
            return False
        suffix = Path(rel).suffix.lower()
        return suffix in FORMATS or suffix == "" or Path(path).is_dir()


def watch_corpus(
    corpus_dir: Path,
    on_change: OnChange,
    debounce: float = DEFAULT_DEBOUNCE,
    stop: threading.Event | None = None,
    ignore: Sequence[Path] = (),
    initial: bool = True,
    poll_interval: float = 0.2,
) -> None:
    """Call ``on_change`` after changes under ``corpus_dir`` until ``stop`` is set.

    With ``initial``, ``on_change([])`` runs first, once the watcher is already
    listening, so nothing changed during that first build is missed.
    """
    if debounce <= 0:
        raise ValueError(f"debounce must be positive, got {debounce}")
    if not corpus_dir.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {corpus_dir}")
    quiet_ms = max(1, int(debounce * 1000))
    flt = _CorpusFilter(corpus_dir, ignore)
    events = watch(
        corpus_dir,
        watch_filter=flt,
        debounce=max(10 * quiet_ms, 5_000),  # longest a burst of changes is grouped
        step=quiet_ms,  # quiet time that ends a group
        stop_event=stop,
        rust_timeout=max(1, int(poll_interval * 1000)),
        yield_on_timeout=True,
        raise_interrupt=True,
    )
    started = False
    for changes in events:
        if not started:
            started = True  # the first (timeout) yield: the watcher is running
            if initial:
                on_change([])
            if not changes:
                continue
        if not changes:
            if stop is not None and stop.is_set():
                return
            continue
        paths = sorted({rel for _, p in changes if (rel := flt.relative(p))})
        log.info("corpus changed: %s", ", ".join(paths))
        on_change(paths)
        if stop is not None and stop.is_set():
            return
