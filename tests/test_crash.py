"""Crash safety: a `kb index` killed with SIGKILL part-way leaves the previous index
usable and a stale lock does not block the next build; a second concurrent build
is refused with one line (exit 2); a failure at any step of writing or switching
keeps the old build live; readers never see a half-written index."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import pytest
from conftest import FakeEmbedder
from filelock import FileLock

from kb import cli
from kb.errors import BadIndexError, BuildLocked
from kb.index import layout
from kb.index.build import build_index
from kb.index.layout import current_build
from kb.index.lexical import BM25Index
from kb.index.load import load_index
from kb.index.vcache import JOURNAL_FILES
from kb.ingest.chunk import ChunkerConfig
from kb.ingest.load import load_corpus
from kb.models.embed import Embedder
from kb.models.korean import KoreanMorphemes
from kb.models.loaded import Models

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "tiny"


def run_cli(models: Models | None, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    rc = cli.main(list(argv), out=out, models=models)
    return rc, out.getvalue()


def search_sources(models: Models | None, corpus: Path, index: Path, query: str) -> list[str]:
    rc, out = run_cli(
        models, "search", query, "--corpus", str(corpus), "--index", str(index), "--json"
    )
    assert rc == 0, out
    return [h["source"] for h in json.loads(out)["hits"]]


def add_articles(corpus: Path, n: int, paragraphs: int = 10) -> None:
    """New articles of ``paragraphs`` distinct one-sentence paragraphs each."""
    for i in range(n):
        paras = [
            f"Station {i} of the coastal railway opened in {1900 + i} and serves {i * 37} "
            f"passengers a day; its platform {j} faces the harbour and the old lighthouse."
            for j in range(paragraphs)
        ]
        (corpus / f"station-{i:02d}.en.md").write_text(
            f"# Railway station {i}\n\n" + "\n\n".join(paras) + "\n", encoding="utf-8"
        )


def _journaled_rows(index: Path, dim: int) -> int:
    """Complete (key, vector) rows in the journals that killed builds left behind
    (read from the files, as index/vcache.py's EmbedJournal writes them)."""
    rows = 0
    for folder in index.glob(".tmp-build-*"):
        keys = (folder / "embedded.keys").read_text(encoding="ascii").count("\n")
        vectors = (folder / "embedded.f32").stat().st_size // (4 * dim)
        rows += min(keys, vectors)
    return rows


def _wait(cond: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def test_sigkill_mid_build_keeps_old_index_and_lock_is_freed(
    models: Models, indexed: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    corpus, index = indexed
    live = current_build(index)
    assert live is not None
    before = search_sources(models, corpus, index, "Riverside Bike Shop rental price")
    assert before[0] == "bike-shop.en.html"

    old_texts = load_index(index).manifest.build["distinct_texts"]
    # Enough new text that the main encoder embeds it in several slices (EMBED_SLICE
    # texts each, journaled one by one) under any chunk-vector recipe: with the
    # default `weighted` only the sentences are embedded (about 100 here, a second
    # or more per slice), so the kill below lands while the build is still running.
    add_articles(corpus, 6, paragraphs=16)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kb",
            "index",
            "--corpus",
            str(corpus),
            "--index",
            str(index),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        _wait(lambda: bool(list(index.glob(".tmp-build-*"))) or proc.poll() is not None, 60)
        # well into embedding the new articles: the first slice of vectors is journaled
        _wait(
            lambda: (
                any(p.stat().st_size > 0 for p in index.glob(".tmp-build-*/embedded.f32"))
                or proc.poll() is not None
            ),
            120,
        )
        assert proc.poll() is None, "the build finished before it could be killed"

        # a second build meanwhile is refused: one line, exit status 2
        capsys.readouterr()
        rc, _ = run_cli(models, "index", "--corpus", str(corpus), "--index", str(index))
        err = capsys.readouterr().err
        assert rc == 2
        assert err.count("\n") == 1 and "another `kb index` is building" in err

        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL

    # the old index is untouched and answers as before
    assert current_build(index) == live
    assert list(index.glob(".tmp-build-*")), "the killed build's work folder is left over"
    assert load_index(index).manifest.counts["documents"] == 3
    assert search_sources(models, corpus, index, "Riverside Bike Shop rental price") == before

    # the killed build journaled at least its first slice of vectors
    journaled = _journaled_rows(index, models.embedder.dim)
    assert journaled > 0

    # the dead process's lock does not block the next build, which cleans up
    rc, out = run_cli(models, "index", "--corpus", str(corpus), "--index", str(index), "--json")
    assert rc == 0, out
    report = json.loads(out)
    assert len(report["added"]) == 6 and report["unchanged"] == 3
    # what the killed build had embedded is not embedded again: every journaled
    # vector is reused, besides the old index's texts
    assert report["chunks_reused"] == old_texts + journaled
    assert not list(index.glob(".tmp-build-*"))
    assert current_build(index) != live
    assert search_sources(models, corpus, index, "railway station 2 platform harbour")[
        0
    ].startswith("station-")


_KILL_AFTER_EMBEDDING = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from conftest import FakeEmbedder
from kb.index import build
from kb.ingest.chunk import ChunkerConfig
from kb.ingest.load import load_corpus

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

build._lexical = die  # every vector is embedded; the build dies in BM25
docs, _ = load_corpus(Path({corpus!r}))
build.build_index(docs, Path({index!r}), FakeEmbedder(), ChunkerConfig(), chunk_vectors={recipe!r})
"""


@pytest.mark.parametrize("recipe", ["pass", "weighted"])
def test_build_killed_after_embedding_keeps_its_vectors(
    tmp_path: Path, fake_embedder: FakeEmbedder, analyzer: KoreanMorphemes, recipe: str
) -> None:
    """A build killed after its main embedding (in BM25 here; for a large corpus
    the second encoder, BM25 and writing take minutes) leaves its journal behind,
    and the next build embeds nothing again."""
    index = tmp_path / "index"
    script = _KILL_AFTER_EMBEDDING.format(
        tests=str(Path(__file__).parent), corpus=str(FIXTURE), index=str(index), recipe=recipe
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    (work,) = index.glob(".tmp-build-*")
    assert all((work / name).is_file() for name in JOURNAL_FILES)
    assert _journaled_rows(index, fake_embedder.dim) > 0
    assert current_build(index) is None

    docs, _ = load_corpus(FIXTURE)
    report = build_index(
        docs, index, fake_embedder, ChunkerConfig(), analyzer=analyzer, chunk_vectors=recipe
    )
    assert report.chunks_embedded == 0 and fake_embedder.calls == 0
    assert report.chunks_reused == _manifest_texts(index) > 0
    live = current_build(index)
    assert live is not None and not any((live / name).exists() for name in JOURNAL_FILES)
    assert not list(index.glob(".tmp-build-*"))


def _manifest_texts(index: Path) -> int:
    return int(load_index(index).manifest.build["distinct_texts"])


def test_build_locked_error(tmp_path: Path, fake_embedder: Embedder) -> None:
    index = tmp_path / "index"
    index.mkdir()
    docs, _ = load_corpus(FIXTURE)
    with FileLock(str(index / ".lock")), pytest.raises(BuildLocked, match="another `kb index`"):
        build_index(docs, index, fake_embedder, ChunkerConfig())
    assert not list(index.iterdir()) or [p.name for p in index.iterdir()] == [".lock"]


@pytest.mark.parametrize("step", ["write_index", "fsync", "rename", "switch", "interrupt"])
def test_failure_at_any_step_keeps_previous_build(
    indexed: tuple[Path, Path], embedder: Embedder, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    corpus, index = indexed
    live = current_build(index)
    (corpus / "bike-shop.en.html").unlink()  # the new build would differ (no embedding needed)
    docs, _ = load_corpus(corpus)

    def boom(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt if step == "interrupt" else OSError(28, "No space left on device")

    target = {
        "write_index": (faiss, "write_index"),
        "fsync": (layout, "fsync_tree"),
        "rename": (os, "rename"),
        "switch": (layout, "switch"),
        "interrupt": (BM25Index, "build"),
    }[step]
    with monkeypatch.context() as m:
        m.setattr(*target, boom)
        with pytest.raises((OSError, KeyboardInterrupt)):
            build_index(docs, index, embedder, ChunkerConfig())
    assert current_build(index) == live
    assert load_index(index).manifest.counts["documents"] == 3
    assert not list(index.glob(".tmp-build-*"))
    # and the next build goes through
    report = build_index(docs, index, embedder, ChunkerConfig())
    assert report.removed == ["bike-shop.en.html"] and report.chunks_embedded == 0
    assert load_index(index).manifest.counts["documents"] == 2


def test_readers_never_see_a_half_written_index(
    indexed: tuple[Path, Path], embedder: Embedder, analyzer: KoreanMorphemes
) -> None:
    corpus, index = indexed
    stop = threading.Event()
    loads: list[int] = []
    errors: list[BaseException] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                idx = load_index(index, embedder, analyzer)
                assert len(idx.chunks) == idx.chunk_vectors.ntotal == idx.bm25.n_docs
                loads.append(idx.manifest.counts["documents"])
            except (BadIndexError, AssertionError) as exc:
                errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        names = ["bike-shop.en.html", "bikes.en.html"]
        for i in range(6):  # renames: new builds, nothing to embed
            os.rename(corpus / names[i % 2], corpus / names[(i + 1) % 2])
            docs, _ = load_corpus(corpus)
            report = build_index(docs, index, embedder, ChunkerConfig(), analyzer=analyzer)
            assert report.chunks_embedded == 0
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not errors, errors[:3]
    assert loads and set(loads) == {3}
    assert len(list(index.glob("build-*"))) == 2  # the live one and one for open readers
