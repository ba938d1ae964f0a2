"""Answers that are arithmetic on stated figures (a difference in points, a
ratio, a cost for a token volume) with its working, citing every figure used."""

from __future__ import annotations

from kb.qa.evidence import Candidate
from kb.qa.evidence_match import topic_bigrams
from kb.qa.extract.base import (
    Extracted,
    Scored,
    asked_sides,
    label,
    question_topic,
    side,
    subject_text,
)
from kb.qa.extract.compare import (
    comparison,
    difference,
    pair,
    ratio_text,
    stated_answer,
    stated_ratio,
)
from kb.qa.extract.figure_pick import Found, figure, figures_of, pick_figures, siblings
from kb.qa.lexicon import Lexicon
from kb.qa.question import Question
from kb.qa.render import figure_text, fmt_number, join_values, lead, money

# how deep a one-model difference looks for a table row with the model's figure
DIFFERENCE_DEPTH = 5


def _row_pair(q: Question, c: Candidate, lexicon: Lexicon) -> list[Found]:
    """The model's figure in ``c`` and another owner's (a table row's other column),
    or nothing."""
    mine = pick_figures(q, c, lexicon)
    if not mine:
        return []
    other = [
        f
        for f in c.figures
        if f is not mine[0] and not f.text.startswith(("+", "-")) and f.owner != mine[0].owner
    ]
    return [(mine[0], c), (other[0], c)] if other else []


def one_model_difference(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    """A difference for one model: between its column and another in the same table
    row ("than the previous generation"; the best such row among the first
    candidates), or between two conditions of one list."""
    best = scored[0][1]
    if not pick_figures(q, best, lexicon):
        return None
    found = _row_pair(q, best, lexicon) or siblings(q, scored, lexicon)
    if len(found) < 2:  # a table row lower down beats a sentence with one figure
        rows = (_row_pair(q, c, lexicon) for _, c in scored[1:DIFFERENCE_DEPTH])
        found = next((r for r in rows if r), [])
    if len(found) < 2:
        return None
    fa = found[0][0]
    (f1, c1), (f2, c2) = sorted(found, key=lambda fc: -(fc[0].value or 0.0))
    diff = difference(f1, f2, q, lexicon, working=True)
    if not diff:
        return None
    subject = subject_text(fa.owner, q, lexicon)
    what = label(q, lexicon)
    line = lead(
        lexicon,
        "arithmetic",
        q.lang,
        subject=subject,
        what=what,
        working=(f"{figure_text(f1, q.lang, lexicon)} − {figure_text(f2, q.lang, lexicon)}{diff}"),
    )
    return Extracted(line, [c1] if c1 is c2 else [c1, c2])


def cost(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    """Cost of the token volumes asked at the prices stated for the model asked."""
    for _, c in scored:
        prices = [f for f in c.owned if f.kind == "price" and f.value is not None]
        if not prices:
            continue
        by_side = {side(c.sentence.text, f, lexicon): f for f in prices}
        terms = []
        total = 0.0
        currency = prices[0].unit
        for where, volume in q.volumes.items():
            f = by_side.get(where) or (by_side.get("input") if where == "" else None) or prices[0]
            if f.value is None:
                continue
            millions = volume / 1e6
            total += f.value * millions
            terms.append(f"{money(f.value, currency, q.lang, lexicon)} × {fmt_number(millions)}")
        if not terms:
            continue
        working = " + ".join(terms) + f" = {money(total, currency, q.lang, lexicon)}"
        volumes = [
            lead(
                lexicon,
                "volume",
                q.lang,
                amount=_amount(v, q.lang),
                side=lexicon.label(where, q.lang) if where else "",
            )
            .replace("  ", " ")
            .strip()
            for where, v in q.volumes.items()
        ]
        what = lead(lexicon, "cost_for", q.lang, volumes=join_values(volumes, q.lang))
        subject = subject_text(prices[0].owner, q, lexicon)
        line = lead(lexicon, "arithmetic", q.lang, subject=subject, what=what, working=working)
        return Extracted(line, [c])
    return None


def _amount(tokens: float, lang: str) -> str:
    if lang == "ko" and tokens >= 1e4:
        return f"{fmt_number(tokens / 1e4)}만"
    if lang == "zh" and tokens >= 1e4:
        return f"{fmt_number(tokens / 1e4)}万"
    return f"{fmt_number(tokens / 1e6)}M"


def side_ratio(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    """ "How many times the input price is the output price": one model's two prices."""
    sides = asked_sides(q, lexicon)
    if len(sides) != 2:
        return None
    for _, c in scored:
        prices = figures_of(c, "price", lexicon)
        by_side = {side(c.sentence.text, f, lexicon): f for f in prices if f.value}
        if all(s in by_side for s in sides):
            f1, f2 = by_side[sides[0]], by_side[sides[1]]
            assert f1.value and f2.value
            working = (
                f"{figure_text(f1, q.lang, lexicon)} / {figure_text(f2, q.lang, lexicon)} = "
                + ratio_text(f1.value / f2.value, q, lexicon)
            )
            subject = subject_text(f1.owner, q, lexicon)
            return Extracted(
                lead(
                    lexicon,
                    "arithmetic",
                    q.lang,
                    subject=subject,
                    what=label(q, lexicon),
                    working=working,
                ),
                [c],
            )
    return None


def model_ratio(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    """How many times one model's figure is the other's: stated in the text, or
    computed from both models' scores or prices, whichever is about what the
    question asks (its words)."""
    if len(q.models) < 2:
        return None
    stated = stated_ratio(q, scored, lexicon)
    words = question_topic(q, lexicon)
    computed: tuple[float, str, list[Candidate], int] | None = None
    for kind in ("score", "price"):
        figure_kind = lexicon.figure_kind(kind)
        if figure_kind is None or not (figure_kind.asked_by(q.text) or q.benchmarks):
            continue  # a ratio of prices only when prices are asked about
        a, b = pair(q, scored, lexicon, kind)
        if a and b and a[0].value and b[0].value:
            big, small = sorted((a, b), key=lambda fc: -(fc[0].value or 0.0))
            assert big[0].value and small[0].value
            overlap = len(words & topic_bigrams(a[1].sentence.text, lexicon))
            working = (
                f"{figure_text(big[0], q.lang, lexicon)} / {figure_text(small[0], q.lang, lexicon)}"
            )
            cands = [a[1]] if a[1] is b[1] else [a[1], b[1]]
            if computed is None or overlap > computed[3]:
                computed = (big[0].value / small[0].value, working, cands, overlap)
    pair_text = f"{q.models[0].display(lexicon)} vs {q.models[1].display(lexicon)}"
    if stated is not None and (computed is None or stated[3] >= computed[3]):
        return stated_answer(q, stated, lexicon)
    if computed is not None:
        value, working, cands, _ = computed
        line = lead(
            lexicon,
            "arithmetic",
            q.lang,
            subject=pair_text,
            what=label(q, lexicon),
            working=f"{working} = {ratio_text(value, q, lexicon)}",
        )
        return Extracted(line, cands)
    return None


def arithmetic(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    kind = q.figure.kind if q.figure is not None else ""
    attempts = []
    if q.volumes and kind == "price":
        attempts.append(cost)
    if kind == "multiplier":
        attempts += [side_ratio, model_ratio]
    for attempt in attempts:
        done = attempt(q, scored, lexicon)
        if done is not None:
            return done
    if kind == "multiplier":
        if len(q.models) >= 2:
            return None  # no ratio stated or computable between the two models asked
        return figure(q, scored, lexicon)
    if len(q.models) >= 2:
        return comparison(q, scored, lexicon, working=True)
    return one_model_difference(q, scored, lexicon) or figure(q, scored, lexicon)
