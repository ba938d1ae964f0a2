"""Checkable facts in a text: numbers with their kind (percent, a currency, plain),
dates and model names, normalized so that "１,０００", "1000", "1K" and "1천" are one
value, "$1", "1美元" and "1달러" one price, and "2024年10月22日" and "October 22,
2024" one date. The words come from ``kb/data/llm_verify.json``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from kb.qa.lexicon import Lexicon
from kb.qa.mentions import find_mentions

DATA_FILE = "llm_verify.json"
_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"


@dataclass(frozen=True)
class Fact:
    kind: str  # "number", "percent", "usd", ..., "date", "model"
    value: str  # canonical: "1000", "73.3", "2024-10-22", a model key
    text: str  # as written


@dataclass(frozen=True)
class FactWords:
    currency: dict[str, str]  # word -> code
    percent: tuple[str, ...]
    magnitudes: dict[str, float]
    months: dict[str, int]
    model_patterns: tuple[re.Pattern[str], ...]
    not_found: dict[str, tuple[str, ...]]
    stopwords: frozenset[str]
    number: re.Pattern[str]
    dates: tuple[re.Pattern[str], ...]
    bare: re.Pattern[str]  # a magnitude word without digits: "per million", "每百万"


def _alt(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@lru_cache(maxsize=1)
def fact_words() -> FactWords:
    data: dict[str, Any] = json.loads(
        resources.files("kb.data").joinpath(DATA_FILE).read_text(encoding="utf-8")
    )
    currency = {w: code for code, words in data["currency"].items() for w in words}
    magnitudes = {k: float(v) for k, v in data["magnitudes"].items()}
    months = {k: int(v) for k, v in data["months"].items()}
    pre = _alt([w for w in currency if not w.isalpha() or w in ("usd", "eur", "krw", "cny", "rmb")])
    post = _alt(list(currency) + list(data["percent"]))
    mag = _alt(list(magnitudes))
    number = re.compile(
        rf"(?P<pre>{pre})?\s?(?P<num>{_NUM})\s?(?P<mag>(?:{mag})(?![a-z]))?\s?"
        rf"(?P<post>(?:{post})(?![a-z]))?",
        re.IGNORECASE,
    )
    month = _alt(list(months))
    dates = (
        re.compile(
            r"(?P<y>\d{4})\s?[-/.년年]\s?(?P<m>\d{1,2})\s?[-/.월月]?\s?(?:(?P<d>\d{1,2})\s?[일日号]?)?"
        ),
        re.compile(rf"(?P<mn>{month})\.?\s+(?:(?P<d>\d{{1,2}}),?\s+)?(?P<y>\d{{4}})", re.I),
        re.compile(rf"(?P<d>\d{{1,2}})\s+(?P<mn>{month})\.?,?\s+(?P<y>\d{{4}})", re.I),
    )
    return FactWords(
        currency=currency,
        percent=tuple(data["percent"]),
        magnitudes=magnitudes,
        months=months,
        model_patterns=tuple(re.compile(p) for p in data["model_patterns"]),
        not_found={k: tuple(v) for k, v in data["not_found"].items()},
        stopwords=frozenset(data["stopwords"]),
        number=number,
        dates=dates,
        bare=re.compile(
            "|".join(
                rf"(?<![\d.,a-z]){re.escape(w)}(?![a-z])"
                if w.isascii()
                else rf"(?<![\d.,]){re.escape(w)}"
                for w in sorted(data["bare_magnitudes"], key=len, reverse=True)
            ),
            re.IGNORECASE,
        ),
    )


def normalize(text: str) -> str:
    """NFKC (full-width digits and signs to ASCII), one space for any run of spaces."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text))


def _canonical(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for s, e in spans:
        chars[s:e] = " " * (e - s)
    return "".join(chars)


def model_facts(text: str, lexicon: Lexicon | None) -> tuple[list[Fact], list[tuple[int, int]]]:
    """Model names (with their spans): the lexicon's names with a version, else the
    JSON patterns."""
    facts: list[Fact] = []
    spans: list[tuple[int, int]] = []
    if lexicon is not None:
        for mention in find_mentions(text, lexicon):
            spans.append((mention.start, mention.end))
            if mention.name.version and not mention.name.truncated:
                name = text[mention.start : mention.end]
                facts.append(Fact("model", mention.name.key, name))
    for pattern in fact_words().model_patterns:
        for m in pattern.finditer(text):
            if any(s <= m.start() < e for s, e in spans):
                continue
            spans.append((m.start(), m.end()))
            if lexicon is None and re.search(r"\d", m.group(0)):
                facts.append(Fact("model", m.group(0).lower().replace("-", " "), m.group(0)))
    return facts, spans


def extract_facts(text: str, lexicon: Lexicon | None = None) -> list[Fact]:
    """Every checkable fact in ``text``."""
    words = fact_words()
    text = normalize(text)
    facts, spans = model_facts(text, lexicon)
    rest = _blank(text, spans)
    for pattern in words.dates:
        for m in pattern.finditer(rest):
            month = m.groupdict().get("m")
            if m.groupdict().get("mn"):
                month = str(words.months[m.group("mn").lower()])
            if month is None or not 1 <= int(month) <= 12:
                continue
            day = m.group("d")
            value = f"{int(m.group('y')):04d}-{int(month):02d}" + (
                f"-{int(day):02d}" if day else ""
            )
            facts.append(Fact("date", value, m.group(0)))
            rest = _blank(rest, [(m.start(), m.end())])
    for m in words.number.finditer(rest):
        amount = float(m.group("num").replace(",", ""))
        if m.group("mag"):
            amount *= words.magnitudes[m.group("mag").lower()]
        kind = "number"
        unit = (m.group("pre") or m.group("post") or "").lower()
        if unit in words.currency:
            kind = words.currency[unit]
        elif unit:
            kind = "percent"
        facts.append(Fact(kind, _canonical(amount), m.group(0).strip()))
    for m in words.bare.finditer(rest):
        facts.append(Fact("number", _canonical(words.magnitudes[m.group(0).lower()]), m.group(0)))
    return facts


def supports(fact: Fact, passage_facts: list[Fact]) -> bool:
    """``fact`` appears among ``passage_facts``: same value, and same kind unless the
    answer wrote a bare number (a plain "1000" may restate "1,000 tokens" or "1K")."""
    for p in passage_facts:
        if fact.kind == "model":
            if p.kind in ("model", "about") and p.value == fact.value:
                return True
            continue
        if fact.kind == "date":
            if p.kind == "date" and (p.value == fact.value or p.value.startswith(fact.value)):
                return True
            continue
        if p.value == fact.value and (p.kind in (fact.kind, "number") or fact.kind == "number"):
            return True
        if fact.kind == "number" and p.kind == "date" and fact.value in p.value.split("-"):
            return True
    return False


def derived(fact: Fact, passage_facts: list[Fact]) -> bool:
    """``fact`` is the difference of two figures of one kind in the passages (the
    "how many points ahead" of an arithmetic answer)."""
    if fact.kind in ("model", "date"):
        return False
    try:
        target = float(fact.value)
    except ValueError:
        return False
    nums = [
        (p.kind, float(p.value)) for p in passage_facts if p.kind not in ("model", "date", "about")
    ]
    for i, (ka, a) in enumerate(nums):
        for kb_, b in nums[i + 1 :]:
            if ka == kb_ and abs(abs(a - b) - target) < 1e-6:
                return True
    return False


def says_not_found(text: str) -> bool:
    low = normalize(text).lower()
    return any(p in low for phrases in fact_words().not_found.values() for p in phrases)
