"""The one table of writing systems: character classes for Hangul, Han, Kana and
Latin, used by language detection, the tokenizer, name finding and the answers."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

# character-class bodies (without brackets), to compose into larger patterns
HANGUL = "\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f"  # syllables, jamo, compatibility jamo
HANGUL_SYLLABLES = "\uac00-\ud7a3"
HAN_UNIFIED = "\u4e00-\u9fff\u3400-\u4dbf"  # unified, extension A
HAN = HAN_UNIFIED + "\uf900-\ufaff"  # ... and compatibility ideographs
KANA = "\u3040-\u30ff"
LATIN = "A-Za-z"

HANGUL_RE = re.compile(f"[{HANGUL}]")
HAN_RE = re.compile(f"[{HAN}]")
KANA_RE = re.compile(f"[{KANA}]")
LATIN_RE = re.compile(f"[{LATIN}]")
CJK_RE = re.compile(f"[{HANGUL}{HAN}{KANA}]")
HANGUL_SYLLABLE_RE = re.compile(f"[{HANGUL_SYLLABLES}]")


def has_cjk(text: str) -> bool:
    return CJK_RE.search(text) is not None


def question_language(text: str) -> str:
    """The language of a short text such as a question: any Hangul is Korean, then
    Kana Japanese, then Han Chinese, else English."""
    if HANGUL_RE.search(text):
        return "ko"
    if KANA_RE.search(text):
        return "ja"
    if HAN_RE.search(text):
        return "zh"
    return "en"


@functools.cache
def _to_simplified() -> Callable[[str], str]:
    from opencc import OpenCC  # opencc-python-reimplemented: dictionaries in the package

    return OpenCC("t2s").convert  # type: ignore[no-any-return]


def simplified(text: str) -> str:
    """A Chinese text in simplified characters ("價格是多少" → "价格是多少"): the
    Chinese articles, the lexicon's cues and the glossary are written in simplified
    Chinese. A text with Hangul or Kana is left as written (Hanja, Japanese kanji)."""
    if not HAN_RE.search(text) or HANGUL_RE.search(text) or KANA_RE.search(text):
        return text
    return _to_simplified()(text)
