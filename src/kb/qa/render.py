"""Lead lines in the asker's language, from the extracted parts: model names and
figures need no translation, and the few words around them are per-language labels
of the lexicon ("Claude Haiku 4.5 — SWE-bench Verified: 73.3%", "Claude 3.5 Sonnet의
안전 등급: ASL-2", "Claude Haiku 4.5 的价格：输入 1美元，输出 5美元")."""

from __future__ import annotations

import re

from kb.qa.figures import Figure
from kb.qa.lexicon import Lexicon

_DATE_KO = re.compile(r"(\d{4})\s?년\s?(\d{1,2})\s?월(?:\s?(\d{1,2})\s?일)?")
_DATE_ZH = re.compile(r"(\d{4})年(\d{1,2})月(?:(\d{1,2})日)?")
_DATE_DOT = re.compile(r"(\d{4})[./-](\d{1,2})[./-](\d{1,2})")


def fmt_number(value: float) -> str:
    """73.3 -> "73.3", 20.0 -> "20", 0.333.. -> "0.33"."""
    if abs(value - round(value)) < 1e-9:
        return str(round(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def money(value: float, currency: str, lang: str, lexicon: Lexicon) -> str:
    template = lexicon.currency_display.get(currency, {}).get(lang)
    if template is None:
        return f"{fmt_number(value)} {currency}".strip()
    return template.replace("{value}", fmt_number(value))


def iso_date(text: str) -> str | None:
    for pattern in (_DATE_KO, _DATE_ZH, _DATE_DOT):
        m = pattern.search(text)
        if m and m.group(3):
            return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
        if m:
            return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"
    return None


def figure_text(f: Figure, lang: str, lexicon: Lexicon) -> str:
    """A figure for the lead line: as written, a price in the asker's currency
    words, a date also in ISO form."""
    if f.kind == "price" and f.value is not None and f.unit in lexicon.currency_display:
        return money(f.value, f.unit, lang, lexicon)
    if f.kind == "date":
        iso = iso_date(f.text)
        return f"{f.text} ({iso})" if iso and iso != f.text else f.text
    return f.text


def fill(template: str, **values: str) -> str:
    out = template
    for k, v in values.items():
        out = out.replace("{" + k + "}", v)
    return out


def lead(lexicon: Lexicon, kind: str, lang: str, **values: str) -> str:
    return fill(lexicon.label(kind, lang), **values)


def join_values(values: list[str], lang: str) -> str:
    sep = "，" if lang == "zh" else ", "
    return sep.join(values)
