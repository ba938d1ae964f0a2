"""Names in a question: the model, product and benchmark names it asks about.

An answer may only come from an article that mentions every name the question
uses ("Claude Opus 4", "Gemini", "GPT-5"); a question about a name the knowledge
base never mentions is answered with "not found" instead of a look-alike.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

from kb.index.tokenize import STOPWORDS, Tokenizer
from kb.scripts import HAN_UNIFIED, HANGUL_SYLLABLES, KANA

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]*[A-Za-z0-9]|[A-Za-z0-9]")
_CJK = re.compile(f"[{KANA}{HAN_UNIFIED}{HANGUL_SYLLABLES}]")
_NUMBER = re.compile(r"^\d+(?:\.\d+)*$")
# Words that start a question in English; capitalized but not names.
_QUESTION_WORDS = STOPWORDS | {"does", "do", "can", "is", "are", "which", "list", "name", "give"}


def _is_name(word: str, first: bool, cjk_query: bool) -> bool:
    if any(ch.isdigit() for ch in word):
        return True
    if word.lower() in _QUESTION_WORDS:
        return False
    if cjk_query:
        return True  # Latin words inside Korean or Chinese questions are names
    if first:  # capitalized anyway: a name only if it looks like one (GPT, iPhone)
        return any(ch.isupper() for ch in word[1:])
    return word[0].isupper()


def name_phrases(question: str, tokenizer: Tokenizer) -> list[list[str]]:
    """Runs of adjacent name words, as normalized tokens (aliases applied first,
    so "클로드 오푸스 4" gives ["claude", "opus", "4"])."""
    text = unicodedata.normalize("NFKC", question)
    aliased = text
    for alias, latin in tokenizer.config.aliases.items():
        aliased = aliased.replace(alias, f" {latin[:1].upper()}{latin[1:]} ")
    cjk_query = bool(_CJK.search(text))
    phrases: list[list[str]] = []
    current: list[str] = []
    last_end = -1
    for i, m in enumerate(_WORD.finditer(aliased)):
        word = m.group(0)
        gap = aliased[last_end : m.start()] if last_end >= 0 else ""
        if current and (gap.strip(" -") or not _is_name(word, i == 0, cjk_query)):
            phrases.append(current)
            current = []
        if _is_name(word, i == 0, cjk_query):
            current.extend(t for t in tokenizer(word) if "_" not in t)
        last_end = m.end()
    if current:
        phrases.append(current)
    return [p for p in phrases if p]


def required_tokens(question: str, tokenizer: Tokenizer) -> set[str]:
    """Every name word, plus each name-then-version pair ("opus_4", "haiku_4.5")
    so that "Claude Haiku 4.5" and "Claude 3.5 Haiku" are not interchangeable."""
    out: set[str] = set()
    for phrase in name_phrases(question, tokenizer):
        out.update(phrase)
        for a, b in itertools.pairwise(phrase):
            if not _NUMBER.match(a) and _NUMBER.match(b):
                out.add(f"{a}_{b}")
    return out
