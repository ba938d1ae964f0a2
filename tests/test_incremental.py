"""Incremental `kb index` through the real CLI and model: add, change, remove, rename,
no stale chunk left in chunks.jsonl, FAISS, BM25 or the manifest; the embedding
cache never embeds a text twice; `kb index --watch` re-indexes after an edit."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from kb import cli
from kb.index.layout import current_build
from kb.index.lexical import BM25Index
from kb.index.load import load_index
from kb.index.manifest import Manifest
from kb.index.watch import watch_corpus
from kb.models.embed import DelegatingEmbedder, Embedder, text_key
from kb.models.loaded import Models
from kb.qa.service import KnowledgeBase
from kb.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "tiny"

MUSEUM = (
    "# Harbour Ocean Museum\n\n"
    "The Harbour Ocean Museum shows whale skeletons and opens at 7 am.\n\n"
    "Tickets for the Ocean Museum cost 15 dollars; children under six enter free.\n"
)


def run_cli(models: Models | None, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    rc = cli.main(list(argv), out=out, models=models)
    return rc, out.getvalue()


def index_json(models: Models | None, corpus: Path, index: Path, *extra: str) -> dict[str, Any]:
    rc, out = run_cli(
        models, "index", "--corpus", str(corpus), "--index", str(index), "--json", *extra
    )
    assert rc == 0, out
    result: dict[str, Any] = json.loads(out)
    return result


def search(
    models: Models | None, corpus: Path, index: Path, query: str, k: int = 3
) -> list[dict[str, Any]]:
    rc, out = run_cli(
        models,
        "search",
        query,
        "--corpus",
        str(corpus),
        "--index",
        str(index),
        "--json",
        "-k",
        str(k),
    )
    assert rc == 0, out
    hits: list[dict[str, Any]] = json.loads(out)["hits"]
    return hits


def check_consistent(index: Path) -> tuple[Manifest, list[dict[str, Any]]]:
    """Every store of the live build agrees: chunks.jsonl, both FAISS indexes,
    BM25, the vector keys and the manifest."""
    build = current_build(index)
    assert build is not None
    manifest = Manifest.read(build)
    chunks = [json.loads(line) for line in (build / "chunks.jsonl").read_text("utf-8").splitlines()]
    n_sent = sum(len(c["sentences"]) for c in chunks)
    assert faiss.read_index(str(build / "chunks.faiss")).ntotal == len(chunks)
    assert faiss.read_index(str(build / "sentences.faiss")).ntotal == n_sent
    assert len(np.load(build / "sentence_chunk.npy")) == n_sent
    assert BM25Index.load(build / "lexical").n_docs == len(chunks)
    keys = json.loads((build / "vector_keys.json").read_text("utf-8"))
    assert len(keys["chunks"]) == len(chunks) and len(keys["sentences"]) == n_sent
    # the second encoder's vectors cover the same sentences (default settings)
    assert faiss.read_index(str(build / "sentences_second.faiss")).ntotal == n_sent
    assert len(keys["second_sentences"]) == n_sent
    assert manifest.counts["chunks"] == len(chunks)
    assert manifest.counts["documents"] == len(manifest.documents)
    assert {c["doc_id"] for c in chunks} == set(manifest.documents)
    for doc_id, entry in manifest.documents.items():
        assert entry.chunk_ids == [c["chunk_id"] for c in chunks if c["doc_id"] == doc_id]
    # only the live build and at most one previous one are kept; no leftovers
    builds = sorted(p.name for p in index.glob("build-*"))
    assert build.name in builds and len(builds) <= 2
    assert not list(index.glob(".tmp-build-*"))
    load_index(index)  # and the loader accepts it
    return manifest, chunks


def vector_keys(index: Path) -> set[str]:
    build = current_build(index)
    assert build is not None
    keys = json.loads((build / "vector_keys.json").read_text("utf-8"))
    embedded = set(keys["sentences"]) | set(keys["second_sentences"])
    # chunk vectors derived from sentence vectors (index/chunk_vectors.py) are no text
    derived = Manifest.read(build).field_records()["chunks"]["recipe"].startswith("derived")
    return embedded if derived else embedded | set(keys["chunks"])


def test_add_change_remove_cycle(models: Models, indexed: tuple[Path, Path]) -> None:
    corpus, index = indexed
    before = vector_keys(index)

    # nothing changed: nothing embedded
    r = index_json(models, corpus, index)
    assert (r["added"], r["changed"], r["removed"], r["unchanged"]) == ([], [], [], 3)
    assert r["chunks_embedded"] == 0 and r["chunks_reused"] == len(before)
    assert set(r) >= {
        "added",
        "changed",
        "removed",
        "unchanged",
        "chunks_embedded",
        "chunks_reused",
        "seconds",
    }

    # add
    (corpus / "ocean-museum.en.md").write_text(MUSEUM, encoding="utf-8")
    r = index_json(models, corpus, index)
    assert r["added"] == ["ocean-museum.en.md"] and r["changed"] == [] and r["removed"] == []
    assert r["unchanged"] == 3
    after_add = vector_keys(index)
    assert r["chunks_embedded"] == len(after_add - before) > 0
    assert r["chunks_reused"] == len(after_add & before) == len(before)
    hits = search(models, corpus, index, "How much are Ocean Museum tickets?")
    assert hits[0]["source"] == "ocean-museum.en.md" and "15 dollars" in hits[0]["text"]
    check_consistent(index)

    # change: the tea garden's ticket price goes from 30 to 45 yuan
    tea = corpus / "tea-garden.zh.txt"
    tea.write_text(tea.read_text("utf-8").replace("30元", "45元"), encoding="utf-8")
    r = index_json(models, corpus, index)
    assert r["changed"] == ["tea-garden.zh.txt"] and r["added"] == [] and r["removed"] == []
    assert r["unchanged"] == 3
    after_change = vector_keys(index)
    assert r["chunks_embedded"] == len(after_change - after_add) > 0
    hits = search(models, corpus, index, "龙井茶园成人门票多少元")
    tea_hits = [h for h in hits if h["source"] == "tea-garden.zh.txt"]
    assert tea_hits and any("45元" in h["text"] for h in tea_hits)
    assert not any("30元" in h["text"] for h in hits)
    _, chunks = check_consistent(index)
    assert not any("30元" in c["text"] or "30元" in c["raw"] for c in chunks)

    # remove
    (corpus / "bike-shop.en.html").unlink()
    r = index_json(models, corpus, index)
    assert r["removed"] == ["bike-shop.en.html"] and r["added"] == [] and r["changed"] == []
    assert r["chunks_embedded"] == 0 and r["documents"] == 3
    manifest, chunks = check_consistent(index)
    assert "bike-shop.en" not in manifest.documents
    assert not any(c["doc_id"] == "bike-shop.en" or "bike" in c["text"].lower() for c in chunks)
    build = current_build(index)
    assert build is not None
    assert BM25Index.load(build / "lexical").vocab.get("bike") is None
    assert all(
        h["source"] != "bike-shop.en.html" for h in search(models, corpus, index, "bike rental")
    )

    # --rebuild embeds every distinct text again, reusing nothing
    r = index_json(models, corpus, index, "--rebuild")
    assert r["chunks_reused"] == 0 and r["chunks_embedded"] == len(vector_keys(index))
    assert sorted(r["added"]) == ["ocean-museum.en.md", "seoul-cafe.ko.md", "tea-garden.zh.txt"]
    check_consistent(index)


class CountingEmbedder(DelegatingEmbedder):
    """The real model, recording every text it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self.texts: list[str] = []

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.encode_passages(texts, progress=progress)


def test_rename_and_moved_paragraph_embed_nothing_twice(
    indexed: tuple[Path, Path], embedder: Embedder
) -> None:
    corpus, index = indexed
    counting = CountingEmbedder(embedder)
    kb = KnowledgeBase(Settings(corpus_dir=corpus, index_dir=index), embedder=counting)

    # rename into a subfolder: the document is removed and added, nothing re-embedded
    (corpus / "cafes").mkdir()
    os.rename(corpus / "seoul-cafe.ko.md", corpus / "cafes" / "seoul-cafe.ko.md")
    r = kb.build()
    assert r.added == ["cafes/seoul-cafe.ko.md"] and r.removed == ["seoul-cafe.ko.md"]
    assert r.chunks_embedded == 0 and counting.texts == []
    _, chunks = check_consistent(index)
    assert {c["source"] for c in chunks if c["doc_id"] == "cafes/seoul-cafe.ko"} == {
        "cafes/seoul-cafe.ko.md"
    }
    assert not any(c["doc_id"] == "seoul-cafe.ko" for c in chunks)

    # a new extension keeps the document id: reported as changed, sources updated
    os.rename(corpus / "tea-garden.zh.txt", corpus / "tea-garden.zh.md")
    r = kb.build()
    assert r.changed == ["tea-garden.zh.md"] and r.added == [] and r.removed == []
    _, chunks = check_consistent(index)
    assert {c["source"] for c in chunks if c["doc_id"] == "tea-garden.zh"} == {"tea-garden.zh.md"}

    # move a paragraph: only texts that did not exist before are embedded, once each
    museum = corpus / "museum.en.md"
    museum.write_text(MUSEUM, encoding="utf-8")
    kb.build()
    old = vector_keys(index)
    counting.texts.clear()
    head, p1, p2 = MUSEUM.split("\n\n")
    museum.write_text("\n\n".join([head, p2.rstrip("\n"), p1]) + "\n", encoding="utf-8")
    r = kb.build()
    assert r.changed == ["museum.en.md"]
    new = vector_keys(index)
    embedded_keys = [text_key(embedder.model_id, t) for t in counting.texts]
    assert len(embedded_keys) == len(set(embedded_keys)) == r.chunks_embedded
    assert set(embedded_keys) == new - old
    assert r.chunks_reused == len(new & old) > 0
    check_consistent(index)


def test_watcher_calls_back_after_debounced_changes(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURE, corpus)
    calls: list[list[str]] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            watch_corpus(corpus, calls.append, debounce=0.3, stop=stop, poll_interval=0.05)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        _wait(lambda: len(calls) >= 1, 10)
        assert calls == [[]]  # the initial call
        # a burst of edits is one call; hidden files are ignored
        (corpus / ".draft.md.swp").write_text("x", encoding="utf-8")
        for i in range(3):
            (corpus / "new.en.md").write_text(f"# New\n\nVersion {i}.\n", encoding="utf-8")
            time.sleep(0.05)
        (corpus / "bike-shop.en.html").unlink()
        _wait(lambda: len(calls) >= 2, 10)
        time.sleep(0.6)
        assert len(calls) == 2
        assert calls[1] == ["bike-shop.en.html", "new.en.md"]
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive() and not errors


def _wait(cond: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_kb_index_watch_reindexes_and_stops_on_ctrl_c(
    models: Models, indexed: tuple[Path, Path]
) -> None:
    corpus, index = indexed
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kb",
            "index",
            "--watch",
            "--json",
            "--debounce",
            "0.3",
            "--corpus",
            str(corpus),
            "--index",
            str(index),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        # as from a terminal: Ctrl-C raises KeyboardInterrupt. A library used by an
        # earlier test of the session may leave SIGINT ignored in this process, and a
        # child inherits an ignored SIGINT (the watcher then never saw the Ctrl-C)
        preexec_fn=_default_sigint,
    )
    lines: list[dict[str, Any]] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(json.loads(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        _wait(lambda: len(lines) >= 1, 60)  # the initial build: nothing changed
        assert lines[0]["chunks_embedded"] == 0 and lines[0]["unchanged"] == 3
        (corpus / "ocean-museum.en.md").write_text(MUSEUM, encoding="utf-8")
        _wait(lambda: len(lines) >= 2, 60)
        assert lines[1]["added"] == ["ocean-museum.en.md"] and lines[1]["chunks_embedded"] > 0
        hits = search(models, corpus, index, "Ocean Museum ticket price")
        assert hits[0]["source"] == "ocean-museum.en.md"
        proc.send_signal(signal.SIGINT)
        try:
            rc = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            parent = signal.getsignal(signal.SIGINT)
            raise AssertionError(
                f"kb index --watch did not stop on Ctrl-C (SIGINT here: {parent}); "
                f"lines {lines}; stderr:\n{err}"
            ) from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == 0
    assert proc.stderr is not None
    assert "stopped watching" in proc.stderr.read()
    check_consistent(index)
