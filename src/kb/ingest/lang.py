"""Language identification by script: enough to tell Korean, Chinese and English apart."""

from __future__ import annotations

from kb.scripts import HAN_RE as _HAN
from kb.scripts import HANGUL_RE as _HANGUL
from kb.scripts import KANA_RE as _KANA
from kb.scripts import LATIN_RE as _LATIN


def detect_language(text: str) -> str:
    """Return "ko", "zh", "ja" or "en" from the dominant script of ``text``.

    Korean text often carries Han characters and Latin names, so any
    substantial share of Hangul decides for Korean.
    """
    sample = text[:20000]
    hangul = len(_HANGUL.findall(sample))
    han = len(_HAN.findall(sample))
    kana = len(_KANA.findall(sample))
    latin = len(_LATIN.findall(sample))
    cjk = hangul + han + kana
    if cjk == 0:
        return "en"
    if hangul >= 0.2 * cjk and hangul * 4 >= latin * 0.5:
        return "ko"
    if kana >= 0.1 * cjk:
        return "ja"
    # a handful of Han characters in English text (a quoted name) stays English
    if han * 3 >= latin * 0.5 or han >= 20:
        return "zh"
    return "en"
