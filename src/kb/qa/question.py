"""What a question asks: its language, its type, the models and benchmarks it names,
the kind of figure it wants and, for arithmetic, the token volumes it gives.

Types (cues per language in the lexicon), checked in this order:
``arithmetic`` (difference in points, a ratio, a cost for a token volume),
``comparison`` (two models side by side), ``list``, ``which`` (which model or
entity), ``figure`` (one score, price, date, safety level, count, ratio),
``yesno``, ``open``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from kb.qa.lexicon import FigureKind, Lexicon
from kb.qa.mentions import ModelName, find_mentions, without_names
from kb.scripts import has_cjk, question_language

_LATIN_RUN = re.compile(
    r"[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*(?:\s+[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*)*"
)
_AMOUNT = re.compile(
    r"(?P<num>\d+(?:[.,]\d+)*)\s*(?P<unit>million|thousand|billion|백만|천만|만|억|천|百万|千万|万|亿|千|[mkb](?![a-z]))?",
    re.I,
)
_UNIT_SCALE = {
    "million": 1e6,
    "ten_thousand": 1e4,
    "thousand": 1e3,
    "billion": 1e9,
    "hundred_million": 1e8,
    "ten_million": 1e7,
}


@dataclass(frozen=True)
class Question:
    text: str
    lang: str
    qtype: str
    figure: FigureKind | None
    models: tuple[ModelName, ...]
    benchmarks: tuple[str, ...]  # benchmark names as written, lowercased
    volumes: dict[str, float] = field(default_factory=dict)  # "input"/"output"/"" -> tokens
    # the question's own words ask for the figure (a cue or a benchmark), rather than
    # its type implying one ("A vs B" is read as scores unless the text says otherwise)
    figure_asked: bool = True
    # properties asked about that are no figure kind (lexicon "attributes" names)
    attributes: tuple[str, ...] = ()
    # the part of the article the question points at: "start" (its introduction),
    # "end" (its conclusion) or "" (anywhere)
    place: str = ""

    @property
    def model(self) -> ModelName | None:
        return self.models[0] if self.models else None


def _matches(patterns: tuple[re.Pattern[str], ...], text: str) -> bool:
    return any(p.search(text) for p in patterns)


def find_benchmarks(text: str, lexicon: Lexicon) -> list[str]:
    """Benchmark names in ``text`` (SWE-bench Verified, GPQA, MMMLU, …)."""
    out: list[str] = []
    cjk = has_cjk(text)  # Latin words in a Korean or Chinese question are names
    for run in _LATIN_RUN.finditer(text):
        words = run.group(0).split()
        for i, w in enumerate(words):
            named = i + 1 < len(words) and words[i + 1].lower() in lexicon.benchmark_generic
            if lexicon.is_benchmark(w) and (
                cjk
                or not w.islower()
                or named  # "math benchmark": a name, though written in lower case
                or any(b in w.lower() for b in lexicon.benchmark_words)
                or w.lower() not in lexicon.benchmark_common_words  # "osworld", "gpqa"
            ):
                phrase = w.lower()
                # a following capitalized qualifier belongs to it ("SWE-bench Verified")
                if (
                    i + 1 < len(words)
                    and words[i + 1][:1].isupper()
                    and not lexicon.is_benchmark(words[i + 1])
                ):
                    phrase += " " + words[i + 1].lower()
                out.append(phrase)
    return out


def _scale(unit: str, lexicon: Lexicon) -> float:
    u = unit.lower()
    for name, words in lexicon.units.items():
        if u in words:
            return _UNIT_SCALE.get(name, 1.0)
    return 1.0


def token_volumes(text: str, lexicon: Lexicon) -> dict[str, float]:
    """Token amounts a question gives, by side ("10M input and 2M output tokens",
    "입력 토큰 1,000만 개", "200万输出token"): the side word nearest each amount in
    its clause; an amount with no side word is "" (both sides)."""
    low = text.lower()
    if not any(w in low for w in lexicon.token_words):
        return {}
    out: dict[str, float] = {}
    clauses = re.split(r"\band\b|(?<!\d),|,(?!\d)|，|、|;|와|과|和|及|以及|그리고|plus", low)
    for clause in clauses:
        if not any(w in clause for w in lexicon.token_words) and not any(
            w in clause for words in lexicon.side_words.values() for w in words
        ):
            continue
        for m in _AMOUNT.finditer(clause):
            unit = m.group("unit") or ""
            around = clause[max(0, m.start() - 5) : m.end() + 12]
            if re.search(r"\bper\b|每|당|/\s*(?:m|1m|million)\b", around):
                continue  # "per million tokens", "100만 토큰당": a price unit, not a volume
            if not unit and float(m.group("num").replace(",", "")) < 1000:
                continue  # a bare small number is no token volume
            amount = float(m.group("num").replace(",", "")) * _scale(unit, lexicon)
            side = ""
            for name, words in lexicon.side_words.items():
                if any(w in clause for w in words):
                    side = name
            out[side] = out.get(side, 0.0) + amount
    return out


def question_type(
    text: str, lexicon: Lexicon, models: tuple[ModelName, ...], figure: FigureKind | None
) -> str:
    types = lexicon.question_types
    two = len({m.key for m in models}) >= 2
    volumes = token_volumes(text, lexicon)
    if (_matches(types.get("arithmetic", ()), text) and (two or figure is not None)) or (
        volumes and figure is not None and figure.kind == "price"
    ):
        return "arithmetic"
    if _matches(types.get("comparison", ()), text) and two:
        return "comparison"
    if _matches(types.get("list", ()), text):
        return "list"
    if _matches(types.get("which", ()), text):
        return "which"
    if figure is not None:
        return "figure"
    if _matches(types.get("yesno", ()), text) and not _matches(lexicon.wh_words, text):
        return "yesno"
    return "open"


def as_item_count(q: Question, lexicon: Lexicon) -> Question | None:
    """A count question about things a list enumerates ("코딩 벤치마크는 몇 개야?",
    lexicon ``countable_items``) as the list question it becomes when no sentence
    states the count: the list answer gives the items and their number."""
    if q.figure is None or q.figure.kind != "count" or q.qtype != "figure":
        return None
    if not _matches(lexicon.countable_items, without_names(q.text, lexicon)):
        return None
    return dataclasses.replace(q, qtype="list", figure=None, figure_asked=False)


def as_description(q: Question, lexicon: Lexicon) -> Question | None:
    """A benchmark asked about in words that want a description ("MMLU 表现如何?",
    "GPQA 성능은 어때?"; lexicon ``qualitative``, no figure cue) as the open question
    it becomes when no sentence states a score for the model: the article's words on
    it ("학부 수준의 폭넓은 지식을 입증") answer."""
    if q.qtype != "figure" or not q.benchmarks or q.figure is None or q.figure.kind != "score":
        return None
    if not _matches(lexicon.qualitative, q.text) or _matches(lexicon.quantity, q.text):
        return None
    if any(f.asked_by(q.text) for f in lexicon.figures):
        return None  # "MMLU 점수는 어때?" asks for the score
    return dataclasses.replace(q, qtype="open", figure=None, figure_asked=False)


# figure kinds a question can ask for side by side ("when was it released and what is
# its SWE-bench score?"); a count or a multiplier qualifies another kind instead
PART_KINDS = ("date", "score", "price", "safety")
_CLAUSES = re.compile(
    r"\band\b|\balso\b|,|，|;|；|以及|和|还有|另外|그리고|하고|또한?|(?<=[가-힣])(?:고|며)\s"
)


def parts(q: Question, lexicon: Lexicon) -> tuple[Question, ...]:
    """A figure question asking for two or more kinds of figure, each in its own
    clause, as one question per kind (the score part keeps the benchmarks named);
    () for any other question."""
    if q.qtype != "figure" or lexicon.clause_joins is None:
        return ()
    kinds: list[FigureKind] = []
    for clause in lexicon.clause_joins.split(q.text):
        asked = [f for f in lexicon.figures if f.kind in PART_KINDS and f.asked_by(clause)]
        if len(asked) == 1 and all(k.kind != asked[0].kind for k in kinds):
            kinds.append(asked[0])
    if len(kinds) < 2:
        return ()
    return tuple(
        dataclasses.replace(q, figure=k, benchmarks=q.benchmarks if k.kind == "score" else ())
        for k in kinds
    )


def analyze(text: str, lexicon: Lexicon) -> Question:
    mentions = find_mentions(text, lexicon)
    models: list[ModelName] = []
    for m in mentions:
        if all(m.name.key != seen.key for seen in models):
            models.append(m.name)
    figure = next((f for f in lexicon.figures if f.asked_by(text)), None)
    if (
        figure is not None
        and _matches(lexicon.qualitative, text)
        and not _matches(lexicon.quantity, text)
    ):
        figure = None  # "how does the cost compare": asks for a description, not a figure
    benchmarks = tuple(find_benchmarks(text, lexicon))
    if figure is None and benchmarks and not _matches(lexicon.descriptive, text):
        figure = lexicon.figure_kind("score")  # a benchmark is asked about for its score
    qtype = question_type(text, lexicon, tuple(models), figure)
    if qtype == "list" and len(benchmarks) >= 2:
        qtype = "figure"  # "What are its SWE-bench and OSWorld scores?": a score each
    if qtype == "list" and figure is not None and figure.kind == "count":
        figure = None  # "哪几项", "몇 가지": the items are asked for, not how many
    figure_asked = figure is not None
    if qtype in ("arithmetic", "comparison") and figure is None:
        figure = lexicon.figure_kind("score")  # "how many points higher", "A vs B"
    lang = question_language(text)
    if lang not in ("ko", "zh", "en"):
        lang = "zh" if has_cjk(text) else "en"
    return Question(
        text=text,
        lang=lang,
        qtype=qtype,
        figure=figure,
        models=tuple(models),
        benchmarks=benchmarks,
        volumes=token_volumes(text, lexicon) if qtype == "arithmetic" else {},
        figure_asked=figure_asked,
        attributes=tuple(a.name for a in lexicon.attributes if a.asked_by(text)),
        place=next((k for k, pats in lexicon.places.items() if _matches(pats, text)), ""),
    )
