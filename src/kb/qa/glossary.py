"""Query expansion across languages with the lexicon's glossary.

Lexical search cannot match "price" to "가격" or "价格"; the glossary (groups of
words meaning the same thing in English, Korean and Chinese, in the lexicon)
expands a query with the other languages' words for the concepts it mentions, so
BM25 and the answer stage's word overlap work across languages too. Model names
need no entry: the tokenizer's aliases map transliterations to Latin names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_LATIN_WORD = re.compile(r"^[a-z0-9./ ]+$")


def _contains(text: str, word: str) -> bool:
    if _LATIN_WORD.match(word):
        return re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text) is not None
    return word in text


def expand(query: str, glossary: Sequence[Sequence[str]]) -> list[str]:
    """Words from the other languages for concepts the query mentions."""
    text = query.lower()
    extra: list[str] = []
    for group in glossary:
        if any(_contains(text, w) for w in group):
            extra.extend(w for w in group if not _contains(text, w))
    return extra
