"""The Korean morpheme analyzer (kiwipiepy), one per owner.

The app's ``Models`` (models/loaded.py) owns one and hands it to every
tokenizer it opens, so the model (a second or two to load) is loaded once per
process and again after nothing: a reload after a re-index reuses it.
"""

from __future__ import annotations

import threading
from typing import Any

# kiwipiepy part-of-speech tags kept as morpheme tokens: general/proper/bound
# nouns, numerals, foreign words, numbers, Hanja, roots, verb and adjective
# stems, general adverbs. Particles and endings carry no evidence.
MORPHEME_TAGS = ("NNG", "NNP", "NNB", "NR", "SL", "SN", "SH", "XR", "VV", "VA", "MAG")
MORPHEME_PREFIX = "k:"


class KoreanMorphemes:
    """kiwipiepy's analyzer, loaded on first use (it ships its model, no download)
    and shared by its owner's threads behind a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kiwi: Any = None

    @property
    def loaded(self) -> bool:
        return self._kiwi is not None

    def _analyzer(self) -> Any:
        with self._lock:
            if self._kiwi is None:
                from kiwipiepy import Kiwi  # heavy import: only when Korean text is tokenized

                self._kiwi = Kiwi()
            return self._kiwi

    def warm(self) -> None:
        """Load the model now rather than on the first Korean question: Kiwi()
        defers loading it to the first analysis (~1-2 s), so analyse one syllable."""
        self.tokens("가")

    def tokens(self, text: str) -> list[str]:
        """The content morphemes of ``text``, prefixed ``k:``."""
        kiwi = self._analyzer()
        with self._lock:
            found = kiwi.tokenize(text)
        return [MORPHEME_PREFIX + t.form for t in found if t.tag.startswith(MORPHEME_TAGS)]
