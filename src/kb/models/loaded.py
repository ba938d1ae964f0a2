"""The models a process loads and keeps: no module-level caches.

``Models`` holds the main embedder, the optional second encoder and the Korean
morpheme analyzer, each loaded on first use and kept for the holder's life. A
front end (the CLI, and through it the UI and the API) creates one per process
via its ``KnowledgeBase`` and everything below receives what it needs from it:
the build and the loader get the embedders and the analyzer as arguments, so a
reload after a re-index pays no load again, and tests inject the models they
loaded once (tests/conftest.py) instead of patching globals.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from kb.models.base import Embedder
from kb.models.embed import load_embedder
from kb.models.korean import KoreanMorphemes
from kb.models.second_encoder import load_second_encoder


@dataclass(frozen=True)
class ModelSpec:
    """Which models to load (from Settings: model, batch_size, model_cache,
    e5_variant, second_model)."""

    model: str = "auto"
    batch_size: int = 16
    cache_dir: Path | None = None
    variant: str = ""
    second: str = "use3"


class Models:
    """The loaded models of one KnowledgeBase (and whatever shares them).

    ``embedder`` / ``second`` / ``analyzer``: already loaded ones to use instead
    of loading per ``spec`` (``second=None`` means "load per spec"; a spec of
    ``none`` gives no second encoder)."""

    def __init__(
        self,
        spec: ModelSpec,
        embedder: Embedder | None = None,
        second: Embedder | None = None,
        analyzer: KoreanMorphemes | None = None,
    ) -> None:
        self.spec = spec
        self._lock = threading.Lock()
        self._embedder = embedder
        self._second = second
        self._second_loaded = second is not None
        self.analyzer = analyzer if analyzer is not None else KoreanMorphemes()

    @property
    def embedder(self) -> Embedder:
        """The main embedder (loaded on first use)."""
        with self._lock:
            if self._embedder is None:
                s = self.spec
                self._embedder = load_embedder(s.model, s.batch_size, s.cache_dir, s.variant)
            return self._embedder

    @property
    def second(self) -> Embedder | None:
        """The second encoder (None when the spec names none); loaded on first use."""
        with self._lock:
            if not self._second_loaded:
                self._second = load_second_encoder(self.spec.second)
                self._second_loaded = True
            return self._second

    def with_embedder(self, embedder: Embedder) -> Models:
        """These models with another main embedder (``kb index --ray``); the
        second encoder and the analyzer are shared, not loaded again."""
        return Models(self.spec, embedder, self.second, self.analyzer)
