"""Model names in text: "Claude Haiku 4.5", "하이쿠 4.5", "克劳德 Haiku 4.5", "GPT-4o mini".

A name is its family words (claude, haiku, gpt, …, from the lexicon), its version
and its variant words (mini, pro, …), whatever the order or script they are written
in, so "Claude 3.5 Haiku" and "클로드 3.5 하이쿠" are one model and "Claude Haiku 4.5"
another. ``compatible`` says whether two names can denote the same model: a name
without a version ("하이쿠") fits any version, a series ("Claude 4") fits its members
("Claude Opus 4"), and different versions or variants never fit (Sonnet 4 vs Sonnet
4.5, GPT-4o vs GPT-4o mini).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from kb.qa.lexicon import Lexicon

_VERSION = re.compile(r"^\d{1,2}(?:\.\d{1,2})?[a-z]?$")
_JOINED = re.compile(r"^([a-z]{2,})-?(\d{1,2}(?:\.\d{1,2})?[a-z]?)$")
_LATIN = r"[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*"
_NUMBER = r"\d+(?:\.\d+)*"
_GAP = re.compile(r"^[ \t\u00a0]{0,2}$")


@dataclass(frozen=True)
class ModelName:
    families: frozenset[str]
    version: str = ""
    variants: frozenset[str] = frozenset()
    words: tuple[str, ...] = ()  # normalized words in written order (for display)
    truncated: bool = False  # the version was cut at a dot ("Claude Haiku 4.在这方面")

    @property
    def key(self) -> str:
        return " ".join([*sorted(self.families), self.version, *sorted(self.variants)]).strip()

    def compatible(self, other: ModelName) -> bool:
        if self.variants != other.variants:
            return False
        if not (self.families <= other.families or other.families <= self.families):
            return False
        return _versions_fit(self, other)

    def answers_for(self, asked: ModelName) -> bool:
        """A fact stated for this name answers a question about ``asked``: the same
        model, named at least as specifically (a fact about "Claude Opus 4" answers
        a question about "Claude 4", but one about the "Claude 4" series says nothing
        certain about "Claude Sonnet 4")."""
        return self.compatible(asked) and asked.families <= self.families

    def resolve(self, subject: ModelName | None) -> ModelName:
        """A name written without a version ("하이쿠", "Claude") in an article about
        ``subject`` means that subject, when the families fit."""
        if subject is None or not self.families <= subject.families:
            return self
        if self.version and not (self.truncated and subject.version.startswith(self.version + ".")):
            return self
        return subject

    def display(self, lexicon: Lexicon) -> str:
        return " ".join(_display_word(w, lexicon) for w in self.words) or self.key


def _versions_fit(a: ModelName, b: ModelName) -> bool:
    if not a.version or not b.version:
        return True
    if a.version == b.version:
        return True
    if a.truncated and b.version.startswith(a.version + "."):
        return True
    return b.truncated and a.version.startswith(b.version + ".")


def _display_word(word: str, lexicon: Lexicon) -> str:
    m = _JOINED.match(word)
    if m:
        head = lexicon.display.get(m.group(1), m.group(1).capitalize())
        return f"{head}{'-' if '-' in word else ''}{m.group(2)}"
    if _VERSION.match(word):
        return word
    return lexicon.display.get(word, word.capitalize())


@dataclass(frozen=True)
class Mention:
    name: ModelName
    start: int  # span in the text it was found in
    end: int


@lru_cache(maxsize=8)
def _token_pattern(aliases: tuple[str, ...]) -> re.Pattern[str]:
    alias = "|".join(re.escape(a) for a in sorted(aliases, key=len, reverse=True))
    parts = [f"(?P<a>{alias})"] if alias else []
    parts += [f"(?P<w>{_LATIN})", f"(?P<n>{_NUMBER})"]
    return re.compile("|".join(parts))


def _name_from(words: list[str], lexicon: Lexicon) -> ModelName | None:
    families: set[str] = set()
    variants: set[str] = set()
    version = ""
    generic = False
    for w in words:
        m = _JOINED.match(w)
        if m and (m.group(1) in lexicon.families or m.group(1) not in lexicon.not_models):
            families.add(m.group(1))
            version = version or m.group(2)
            generic = generic or m.group(1) not in lexicon.families
        elif w in lexicon.families:
            families.add(w)
        elif w in lexicon.variants:
            variants.add(w)
        elif _VERSION.match(w) and not version:
            version = w
    if not families or (generic and not version):
        return None
    return ModelName(frozenset(families), version, frozenset(variants), tuple(words))


def _is_name_word(word: str, lexicon: Lexicon) -> bool:
    if word in lexicon.families or word in lexicon.variants or _VERSION.match(word):
        return True
    m = _JOINED.match(word)
    return bool(m) and m.group(1) not in lexicon.not_models  # type: ignore[union-attr]


def without_names(text: str, lexicon: Lexicon) -> str:
    """``text`` with its model names cut out: what it asks or says beyond which model
    ("What does Claude Haiku 4.5 score on SWE-bench?" -> "What does score on SWE-bench?")."""
    kept, pos = [], 0
    for m in find_mentions(text, lexicon):
        kept.append(text[pos : m.start])
        pos = m.end
    kept.append(text[pos:])
    return " ".join(" ".join(kept).split())


def find_mentions(text: str, lexicon: Lexicon) -> list[Mention]:
    """Model names in ``text`` with their spans, in order."""
    pattern = _token_pattern(tuple(lexicon.aliases))
    runs: list[list[tuple[str, int, int]]] = []
    last_end = -1
    for m in pattern.finditer(text):
        word = lexicon.aliases[m.group("a")] if m.group("a") else m.group(0).lower()
        follows = text[m.end() : m.end() + 1]
        if not _is_name_word(word, lexicon) or (m.group("n") and (follows in "%％" and follows)):
            last_end = -1  # any other word, or a figure, ends a name
            continue
        if m.group("n") and follows.isalpha() and follows.isascii():
            last_end = -1  # "10M", "5x": an amount, not a version
            continue
        if runs and last_end >= 0 and _GAP.match(text[last_end : m.start()]):
            runs[-1].append((word, m.start(), m.end()))
        else:
            runs.append([(word, m.start(), m.end())])
        last_end = m.end()
    out: list[Mention] = []
    for run in runs:
        for part in _split_names(run):
            out.extend(_name_mention(part, text, lexicon))
    return out


def _split_names(run: list[tuple[str, int, int]]) -> list[list[tuple[str, int, int]]]:
    """Adjacent names ("Haiku 4.5 Sonnet 4") split where a second version begins:
    the words after the first version up to the second belong to the second name."""
    parts: list[list[tuple[str, int, int]]] = []
    current: list[tuple[str, int, int]] = []
    seen_version = False
    for i, item in enumerate(run):
        is_version = bool(_VERSION.match(item[0]) or _JOINED.match(item[0]))
        if (
            seen_version
            and not is_version
            and any(_VERSION.match(w) or _JOINED.match(w) for w, _, _ in run[i + 1 :])
        ):
            parts.append(current)
            current = []
            seen_version = False
        current.append(item)
        seen_version = seen_version or is_version
    if current:
        parts.append(current)
    return parts


def _name_mention(keep: list[tuple[str, int, int]], text: str, lexicon: Lexicon) -> list[Mention]:
    # trim leading numbers that are no part of the name
    while keep and _VERSION.match(keep[0][0]) and not _has_family_after(keep, lexicon):
        keep = keep[1:]
    if not keep:
        return []
    name = _name_from([w for w, _, _ in keep], lexicon)
    if name is None:
        return []
    start, end = keep[0][1], keep[-1][2]
    nxt = text[end + 1 : end + 2]
    truncated = bool(
        name.version
        and text[end : end + 1] == "."
        and nxt
        and not nxt.isdigit()
        and not nxt.isspace()
    )
    if truncated:
        name = ModelName(name.families, name.version, name.variants, name.words, True)
    return [Mention(name, start, end)]


def _has_family_after(keep: list[tuple[str, int, int]], lexicon: Lexicon) -> bool:
    return any(w in lexicon.families or _JOINED.match(w) for w, _, _ in keep[1:])


def subject_of(texts: Iterable[str], lexicon: Lexicon) -> ModelName | None:
    """The model an article is about: its most often named model with a version
    (ties: the first named)."""
    counts: Counter[str] = Counter()
    first: dict[str, ModelName] = {}
    for text in texts:
        for m in find_mentions(text, lexicon):
            if m.name.version and not m.name.truncated:
                counts[m.name.key] += 1
                first.setdefault(m.name.key, m.name)
    if not counts:
        return None
    best = max(counts.values())
    for key, name in first.items():
        if counts[key] == best:
            return name
    return None  # pragma: no cover
