"""The domain knowledge answers use, as data: ``src/kb/data/lexicon.json``, merged
with an optional ``lexicon.json`` in the corpus folder.

A user adapts kb to another corpus by writing that file: new transliterations of
model names, model families, question cues in a language, figure kinds, answer
labels. Objects merge key by key and lists are extended, so a corpus file holds
only what it adds::

    {"aliases": {"제미니": "gemini"}, "model_families": ["orion"]}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from kb.errors import LexiconError

LEXICON_FILE = "lexicon.json"


@dataclass(frozen=True)
class FigureKind:
    """A kind of figure a question can ask for: the words that ask for it and the
    patterns that find it in a sentence, with its label per language."""

    kind: str
    label: dict[str, str]
    cues: tuple[re.Pattern[str], ...]
    patterns: tuple[re.Pattern[str], ...]
    # the text right after a figure that makes it another event's ("2월 TechCrunch의
    # 보도": the date of a report, not of a release), unless the question asks about
    # that event (``event_cues``)
    event_after: tuple[re.Pattern[str], ...] = ()
    event_cues: tuple[re.Pattern[str], ...] = ()

    def asked_by(self, question: str) -> bool:
        return any(c.search(question) for c in self.cues)

    def of_another_event(self, text: str, end: int, question: str) -> bool:
        """The figure ending at ``end`` in ``text`` dates (or counts …) another
        event than the one ``question`` asks about."""
        after = text[end:]
        return any(p.search(after) for p in self.event_after) and not any(
            c.search(question) for c in self.event_cues
        )


@dataclass(frozen=True)
class Attribute:
    """A property a question can ask about a model that is no figure kind (context
    window, parameter count, training data): the words that ask for it, and the
    terms a passage stating it would use. A question asking for it is answered only
    from a sentence (or its list's lead-in or section) using one of the terms."""

    name: str
    cues: tuple[re.Pattern[str], ...]
    terms: tuple[str, ...]  # compared lowercased, spaces ignored

    def asked_by(self, question: str) -> bool:
        return any(c.search(question) for c in self.cues)

    def stated_in(self, text: str) -> bool:
        squashed = "".join(text.lower().split())
        return any("".join(t.lower().split()) in squashed for t in self.terms)


@dataclass(frozen=True)
class Lexicon:
    aliases: dict[str, str]
    families: frozenset[str]
    variants: frozenset[str]
    display: dict[str, str]
    not_models: frozenset[str]
    glossary: tuple[tuple[str, ...], ...]
    question_types: dict[str, tuple[re.Pattern[str], ...]]
    figures: tuple[FigureKind, ...]
    currency: dict[str, tuple[str, ...]]
    currency_display: dict[str, dict[str, str]]
    figure_context: dict[str, tuple[str, ...]]
    labels: dict[str, dict[str, str]]
    units: dict[str, tuple[str, ...]]
    per_million: tuple[re.Pattern[str], ...]
    reference_markers: tuple[str, ...]
    numerals: dict[str, float]
    benchmarks: frozenset[str]
    benchmark_words: tuple[str, ...]
    side_words: dict[str, tuple[str, ...]]
    token_words: tuple[str, ...]
    wh_words: tuple[re.Pattern[str], ...]
    qualitative: tuple[re.Pattern[str], ...]
    # "what level of knowledge does MMLU test": a benchmark named, but no score asked
    descriptive: tuple[re.Pattern[str], ...]
    quantity: tuple[re.Pattern[str], ...]
    which_targets: dict[str, tuple[re.Pattern[str], ...]]
    skip_sections: tuple[str, ...]  # sections that state no facts (references)
    negation: tuple[re.Pattern[str], ...]  # "without tools", "도구 없이", "无工具"
    attributes: tuple[Attribute, ...] = ()  # properties asked about that are no figure kind
    # "which model scored higher": "max" / "min" cues (the owner of the largest or
    # smallest figure answers)
    which_order: dict[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)
    # "which models scored above 70%": "above" / "below" cues next to a stated figure
    thresholds: dict[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)
    # "the introduction", "결론", "文章结尾": the part of an article a question points
    # at ("start": its opening passages, "end": its closing ones; qa/retrieve.py)
    places: dict[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)
    # words that join two clauses of a question ("and", "和", "그리고", "…고 ")
    clause_joins: re.Pattern[str] | None = None
    # words that say "a benchmark" without naming one ("math benchmark score")
    benchmark_generic: frozenset[str] = frozenset()
    # benchmark names that are also ordinary English words ("math", "drop"): written in
    # lower case in an English question they are no name unless "benchmark" follows
    benchmark_common_words: frozenset[str] = frozenset()
    # "the three characteristics": how many items a list question expects, by number
    list_counts: dict[int, tuple[re.Pattern[str], ...]] = field(default_factory=dict)
    # things a list enumerates: "how many benchmarks" no sentence states is its list's length
    countable_items: tuple[re.Pattern[str], ...] = ()
    # alias targets that are companies or institutions ("구글" → google): a name a
    # which-company question can be answered with when an article writes it in Hangul
    # or Han; capitalized words that are titles or acronyms, never a name ("CEO",
    # "AI"); and the titles a person's name follows ("CEO인 다리오 아모데이")
    organizations: frozenset[str] = frozenset()
    not_names: frozenset[str] = frozenset()
    titles: tuple[str, ...] = ()
    # "who wrote …?" ("asks") and the line that names an article's author ("marks":
    # "글쓴이 …", "By …", "作者：…")
    bylines: dict[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)

    def negated(self, text: str) -> bool:
        return any(p.search(text) for p in self.negation)

    def is_benchmark(self, word: str) -> bool:
        w = word.lower()
        if w in self.benchmark_generic:
            return False
        return w in self.benchmarks or any(b in w for b in self.benchmark_words)

    def label(self, name: str, lang: str) -> str:
        table = self.labels.get(name, {})
        return table.get(lang) or table.get("en", "")

    def figure_kind(self, kind: str) -> FigureKind | None:
        return next((f for f in self.figures if f.kind == kind), None)


def merge(base: Any, extra: Any) -> Any:
    """``extra`` over ``base``: objects merge key by key, lists are extended
    (without repeating an entry), anything else is replaced."""
    if isinstance(base, dict) and isinstance(extra, dict):
        out = dict(base)
        for k, v in extra.items():
            out[k] = merge(base[k], v) if k in base else v
        return out
    if isinstance(base, list) and isinstance(extra, list):
        return base + [v for v in extra if v not in base]
    return extra


def _read(path: Path | None) -> dict[str, Any]:
    try:
        if path is None:
            text = resources.files("kb.data").joinpath(LEXICON_FILE).read_text(encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LexiconError(
            f"lexicon {path or 'kb/data/lexicon.json'} is unreadable: {exc}"
        ) from None
    if not isinstance(data, dict):
        raise LexiconError(f"lexicon {path} must hold a JSON object")
    return data


def _one_of(patterns: tuple[re.Pattern[str], ...]) -> re.Pattern[str] | None:
    """One pattern matching any of ``patterns`` (each checked on its own first)."""
    return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), re.I) if patterns else None


def _patterns(items: Any, where: str) -> tuple[re.Pattern[str], ...]:
    if not isinstance(items, list) or not all(isinstance(p, str) for p in items):
        raise LexiconError(f"lexicon {where} must be a list of regular expressions")
    try:
        return tuple(re.compile(p, re.I) for p in items)
    except re.error as exc:
        raise LexiconError(f"lexicon {where}: bad regular expression ({exc})") from None


def _words(d: dict[str, Any], key: str) -> list[str]:
    value = d.get(key, [])
    if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
        raise LexiconError(f"lexicon {key} must be a list of strings")
    return [w.lower() for w in value]


def build(data: dict[str, Any]) -> Lexicon:
    """A Lexicon from merged lexicon data (LexiconError for a wrong shape)."""
    try:
        figures = tuple(
            FigureKind(
                kind=str(f["kind"]),
                label=dict(f["label"]),
                cues=_patterns(f["cues"], f"figures.{f['kind']}.cues"),
                patterns=_patterns(f["patterns"], f"figures.{f['kind']}.patterns"),
                event_after=_patterns(f.get("event_after", []), f"figures.{f['kind']}.event_after"),
                event_cues=_patterns(f.get("event_cues", []), f"figures.{f['kind']}.event_cues"),
            )
            for f in data.get("figures", [])
        )
        return Lexicon(
            aliases={str(k): str(v).lower() for k, v in data.get("aliases", {}).items()},
            families=frozenset(_words(data, "model_families")),
            variants=frozenset(_words(data, "model_variants")),
            display={str(k).lower(): str(v) for k, v in data.get("display", {}).items()},
            not_models=frozenset(_words(data, "not_models")),
            glossary=tuple(tuple(str(w) for w in g) for g in data.get("glossary", [])),
            question_types={
                str(k): _patterns(v, f"question_types.{k}")
                for k, v in data.get("question_types", {}).items()
            },
            figures=figures,
            currency={str(k): tuple(v) for k, v in data.get("currency", {}).items()},
            currency_display={str(k): dict(v) for k, v in data.get("currency_display", {}).items()},
            figure_context={str(k): tuple(v) for k, v in data.get("figure_context", {}).items()},
            labels={str(k): dict(v) for k, v in data.get("labels", {}).items()},
            units={str(k): tuple(v) for k, v in data.get("units", {}).items()},
            per_million=_patterns(data.get("per_million_cues", []), "per_million_cues"),
            reference_markers=tuple(_words(data, "reference_markers")),
            numerals={str(k): float(v) for k, v in data.get("numerals", {}).items()},
            benchmarks=frozenset(_words(data, "benchmarks")),
            benchmark_words=tuple(_words(data, "benchmark_words")),
            benchmark_generic=frozenset(w.lower() for w in _words(data, "benchmark_generic")),
            benchmark_common_words=frozenset(
                w.lower() for w in _words(data, "benchmark_common_words")
            ),
            side_words={str(k): tuple(v) for k, v in data.get("side_words", {}).items()},
            token_words=tuple(_words(data, "token_words")),
            wh_words=_patterns(data.get("wh_words", []), "wh_words"),
            qualitative=_patterns(data.get("qualitative", []), "qualitative"),
            descriptive=_patterns(data.get("descriptive", []), "descriptive"),
            quantity=_patterns(data.get("quantity", []), "quantity"),
            skip_sections=tuple(_words(data, "skip_sections")),
            negation=_patterns(data.get("negation", []), "negation"),
            attributes=tuple(
                Attribute(
                    name=str(a["name"]),
                    cues=_patterns(a["cues"], f"attributes.{a['name']}.cues"),
                    terms=tuple(str(t) for t in a["terms"]),
                )
                for a in data.get("attributes", [])
            ),
            which_targets={
                str(k): _patterns(v, f"which_targets.{k}")
                for k, v in data.get("which_targets", {}).items()
            },
            countable_items=_patterns(data.get("countable_items", []), "countable_items"),
            organizations=frozenset(w.lower() for w in _words(data, "organizations")),
            not_names=frozenset(w.lower() for w in _words(data, "not_names")),
            titles=tuple(w.lower() for w in _words(data, "titles")),
            bylines=_keyed(data, "bylines", ("asks", "marks")),
            list_counts={
                int(k): _patterns(v, f"list_counts.{k}")
                for k, v in data.get("list_counts", {}).items()
            },
            which_order=_keyed(data, "which_order", ("max", "min")),
            places=_keyed(data, "places", ("start", "end")),
            clause_joins=_one_of(_patterns(data.get("clause_joins", []), "clause_joins")),
            thresholds=_keyed(data, "thresholds", ("above", "below")),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, LexiconError):
            raise
        raise LexiconError(f"lexicon has a wrong shape ({exc})") from None


def _keyed(
    data: dict[str, Any], name: str, keys: tuple[str, ...]
) -> dict[str, tuple[re.Pattern[str], ...]]:
    """An object of pattern lists under ``name``, only its known ``keys``."""
    return {str(k): _patterns(v, f"{name}.{k}") for k, v in data.get(name, {}).items() if k in keys}


def load_lexicon(corpus_dir: Path | None = None) -> Lexicon:
    """The packaged lexicon, with ``corpus_dir/lexicon.json`` merged over it when present."""
    data = _read(None)
    if corpus_dir is not None:
        extra = corpus_dir / LEXICON_FILE
        if extra.is_file():
            data = merge(data, _read(extra))
    return build(data)
