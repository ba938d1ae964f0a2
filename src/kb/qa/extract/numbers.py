"""Answers that are figures: one figure, two side by side, and arithmetic on them
(a difference in points, a ratio, a cost for a token volume) with its working."""

from __future__ import annotations

from kb.qa.evidence import Candidate, squash, topic_bigrams
from kb.qa.extract.base import (
    Extracted,
    Scored,
    asked_sides,
    clause,
    decimals,
    label,
    question_topic,
    same_block,
    side,
    subject_text,
)
from kb.qa.extract.text import open_answer
from kb.qa.figures import Figure, figures_in
from kb.qa.lexicon import Lexicon
from kb.qa.mentions import ModelName, find_mentions
from kb.qa.question import Question
from kb.qa.render import figure_text, fmt_number, join_values, lead, money

Found = tuple[Figure, Candidate]


def pick_figures(q: Question, c: Candidate, lexicon: Lexicon) -> list[Figure]:
    """The figures of a candidate that answer the question: those stated for the
    first model asked, on the side asked (input/output prices), and when several
    remain (a sentence with a price ratio and a speed ratio) the ones whose clause
    shares the most with the question."""
    figs = list(c.owned) or list(c.figures)
    if not figs:
        return []
    text = c.sentence.text
    if q.models and not any(f.column and squash(f.column) in squash(q.text) for f in figs):
        first = [f for f in figs if f.owner is not None and f.owner.answers_for(q.models[0])]
        figs = first or figs
    if q.figure is not None and q.figure.kind == "price":
        sides = asked_sides(q, lexicon)
        if sides:
            figs = [f for f in figs if side(text, f, lexicon) in sides] or figs
        return figs
    if len(figs) > 1:
        words = question_topic(q, lexicon)
        overlap = [len(words & topic_bigrams(clause(text, f), lexicon)) for f in figs]
        figs = [f for f, o in zip(figs, overlap, strict=True) if o == max(overlap)]
    return figs


def _same_condition(q: Question, best: Candidate, scored: Scored, lexicon: Lexicon) -> Candidate:
    """ "Accuracy without tools": when the question is negated and the best
    candidate's figure is not (or the other way round), a close candidate of the
    same list whose figure matches the question's condition."""
    figs = pick_figures(q, best, lexicon)
    if not figs:
        return best
    asked = lexicon.negated(q.text)
    if lexicon.negated(clause(best.sentence.text, figs[0])) == asked:
        return best
    for _, c in scored[1:6]:
        other = pick_figures(q, c, lexicon) if c.owned else []
        if (
            other
            and same_block(best, c)
            and lexicon.negated(clause(c.sentence.text, other[0])) == asked
        ):
            return c
    return best


def _shown(q: Question, c: Candidate, figs: list[Figure], lexicon: Lexicon) -> str:
    values = []
    for f in figs:
        shown = figure_text(f, q.lang, lexicon)
        where = side(c.sentence.text, f, lexicon) if f.kind == "price" else ""
        values.append(f"{lexicon.label(where, q.lang)} {shown}".strip() if where else shown)
    value = join_values(values, q.lang)
    if (
        figs
        and figs[0].kind == "price"
        and any(p.search(c.sentence.text) for p in lexicon.per_million)
    ):
        value += f" ({lexicon.label('per_million', q.lang)})"
    return value


def _siblings(q: Question, scored: Scored, lexicon: Lexicon) -> list[Found]:
    """One model's figures under two conditions (with and without tools, two rows
    of one list): the best candidate's, and the next candidate of the same list
    that states one for the same model."""
    best = scored[0][1]
    first = pick_figures(q, best, lexicon)
    if not first:
        return []
    out: list[Found] = [(first[0], best)]
    for _, c in scored[1:6]:
        if c is not best and same_block(best, c) and c.owned:
            out.append((c.owned[0], c))
            break
    return out


def figure(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted:
    best = scored[0][1]
    compare = any(p.search(q.text) for p in lexicon.question_types.get("comparison", ()))
    if compare and len(q.models) <= 1:
        pair = _siblings(q, scored, lexicon)
        if len(pair) == 2:  # "with and without tools, compared"
            subject = subject_text(pair[0][0].owner, q, lexicon)
            value = join_values([figure_text(f, q.lang, lexicon) for f, _ in pair], q.lang)
            line = lead(
                lexicon, "figure", q.lang, subject=subject, label=label(q, lexicon), value=value
            )
            return Extracted(line.strip(" —:"), [c for _, c in pair])
    for _, c in scored[:5]:  # a table column the question names ("이전 세대 모델")
        if any(f.column and squash(f.column) in squash(q.text) for f in c.owned):
            best = c
            break
    best = _same_condition(q, best, scored, lexicon)
    figs = pick_figures(q, best, lexicon)
    owner = figs[0].owner if figs else best.subject
    subject = subject_text(owner, q, lexicon) or subject_text(best.subject, q, lexicon)
    if figs and figs[0].column and not figs[0].owner:
        subject = figs[0].column  # a table column that is no model ("이전 세대 모델")
    value = _shown(q, best, figs, lexicon)
    line = lead(lexicon, "figure", q.lang, subject=subject, label=label(q, lexicon), value=value)
    return Extracted(line.strip(" —:"), [best])


def _pair(
    q: Question, scored: Scored, lexicon: Lexicon, kind: str | None = None
) -> tuple[Found | None, Found | None]:
    """The first and second asked models' figures (of ``kind``, default the asked
    one): from one sentence or row stating both when there is one (the one closest
    to the question's words), else from two candidates."""
    a_model, b_model = q.models[0], q.models[1]
    words = question_topic(q, lexicon)
    both = []
    for rank, (_, c) in enumerate(scored):
        figs = _figures_of(c, kind, lexicon)
        fa = next((f for f in figs if f.owner and f.owner.answers_for(a_model)), None)
        fb = next((f for f in figs if f.owner and f.owner.answers_for(b_model)), None)
        if fa and fb and fa is not fb:
            both.append((-len(words & topic_bigrams(c.sentence.text, lexicon)), rank, fa, fb, c))
    if both:
        _, _, fa, fb, c = min(both, key=lambda t: (t[0], t[1]))
        return (fa, c), (fb, c)
    found: list[Found | None] = [None, None]
    for _, c in scored:
        figs = _figures_of(c, kind, lexicon)
        for i, model in enumerate((a_model, b_model)):
            other = (b_model, a_model)[i]
            if found[i] is None:
                f = next(
                    (
                        f
                        for f in figs
                        if f.owner and f.owner.answers_for(model) and not f.owner.answers_for(other)
                    ),
                    None,
                )
                if f is not None:
                    found[i] = (f, c)
    return found[0], found[1]


def _figures_of(c: Candidate, kind: str | None, lexicon: Lexicon) -> list[Figure]:
    if kind is None:
        return list(c.figures)
    figure_kind = lexicon.figure_kind(kind)
    if figure_kind is None:
        return []
    return figures_in(c.sentence, figure_kind, lexicon, c.context, c.block)


def _difference(fa: Figure, fb: Figure, q: Question, lexicon: Lexicon, working: bool) -> str:
    if fa.value is None or fb.value is None or fa.unit != fb.unit:
        return ""
    places = max(decimals(fa.text), decimals(fb.text))
    diff = round(fa.value - fb.value, places)
    key = "difference" if fa.unit == "%" else "difference_plain"
    out = f" ({lead(lexicon, key, q.lang, value=f'{diff:+.{places}f}')})"
    if working:
        out += f" — {fa.value:.{places}f} − {fb.value:.{places}f} = {diff:.{places}f}"
    return out


def _pair_answer(q: Question, a: Found, b: Found, lexicon: Lexicon, working: bool) -> Extracted:
    (fa, ca), (fb, cb) = a, b
    line = lead(
        lexicon,
        "comparison",
        q.lang,
        label=label(q, lexicon),
        a=q.models[0].display(lexicon),
        a_value=figure_text(fa, q.lang, lexicon),
        b=q.models[1].display(lexicon),
        b_value=figure_text(fb, q.lang, lexicon),
    ).lstrip(": ：")
    line += _difference(fa, fb, q, lexicon, working)
    return Extracted(line, [ca] if ca is cb else [ca, cb])


def comparison(q: Question, scored: Scored, lexicon: Lexicon, working: bool = False) -> Extracted:
    """Two models side by side. When the question asks for a figure (a score, a
    benchmark), both models' figures; when it only compares ("is A faster than B?"),
    the stated ratio or the figure pair whose sentence is about what it compares,
    else the best sentence."""
    if len(q.models) < 2 or q.figure is None:
        return open_answer(q, scored, lexicon)
    a, b = _pair(q, scored, lexicon)
    if q.figure_asked:
        if a is not None and b is not None:
            return _pair_answer(q, a, b, lexicon, working)
        return open_answer(q, scored, lexicon)
    words = question_topic(q, lexicon)
    pair_overlap = -1
    if a is not None and b is not None:
        pair_overlap = len(words & topic_bigrams(a[1].sentence.text, lexicon))
    stated = _stated_ratio(q, scored, lexicon)
    if stated is not None and stated[3] > 0 and stated[3] >= pair_overlap:
        return _stated_answer(q, stated, lexicon)
    if a is not None and b is not None and pair_overlap > 0:
        return _pair_answer(q, a, b, lexicon, working)
    return open_answer(q, scored, lexicon)


def one_model_difference(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    """A difference for one model: between its column and another in the same table
    row ("than the previous generation"), or between two conditions of one list."""
    best = scored[0][1]
    figs = pick_figures(q, best, lexicon)
    if not figs:
        return None
    fa = figs[0]
    other = [
        f
        for f in best.figures
        if f is not fa and not f.text.startswith(("+", "-")) and f.owner != fa.owner
    ]
    pair: list[Found] = [(fa, best), (other[0], best)] if other else _siblings(q, scored, lexicon)
    if len(pair) < 2:
        return None
    (f1, c1), (f2, c2) = sorted(pair, key=lambda fc: -(fc[0].value or 0.0))
    diff = _difference(f1, f2, q, lexicon, working=True)
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


def _ratio_text(value: float, q: Question, lexicon: Lexicon) -> str:
    return lead(lexicon, "ratio", q.lang, value=fmt_number(value))


def side_ratio(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    """ "How many times the input price is the output price": one model's two prices."""
    sides = asked_sides(q, lexicon)
    if len(sides) != 2:
        return None
    for _, c in scored:
        prices = _figures_of(c, "price", lexicon)
        by_side = {side(c.sentence.text, f, lexicon): f for f in prices if f.value}
        if all(s in by_side for s in sides):
            f1, f2 = by_side[sides[0]], by_side[sides[1]]
            assert f1.value and f2.value
            working = (
                f"{figure_text(f1, q.lang, lexicon)} / {figure_text(f2, q.lang, lexicon)} = "
                + _ratio_text(f1.value / f2.value, q, lexicon)
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


def _stated_ratio(
    q: Question, scored: Scored, lexicon: Lexicon
) -> tuple[float, str, Candidate, int] | None:
    """A ratio the text states between the two models asked ("仅为Claude Sonnet 4的
    三分之一": the subject is a third of the other), oriented as asked (first over
    second), with the overlap of its clause with the question."""
    a, b = q.models[0], q.models[1]
    words = question_topic(q, lexicon)
    best: tuple[float, str, Candidate, int] | None = None
    for _, c in scored:
        kind = lexicon.figure_kind("multiplier")
        if kind is None:
            return None
        for f in figures_in(c.sentence, kind, lexicon, c.context, c.block):
            if not f.value:
                continue
            subject = c.subject or c.context
            others = [m.name.resolve(c.context) for m in find_mentions(c.sentence.text, lexicon)]
            other = next((m for m in others if subject is None or not m.answers_for(subject)), None)
            if subject is None or other is None:
                continue
            if subject.answers_for(a) and other.answers_for(b):
                value = f.value
            elif subject.answers_for(b) and other.answers_for(a):
                value = 1 / f.value
            else:
                continue
            overlap = len(words & topic_bigrams(clause(c.sentence.text, f), lexicon))
            if best is None or overlap > best[3]:
                best = (value, f.text, c, overlap)
    return best


def _stated_answer(
    q: Question, stated: tuple[float, str, Candidate, int], lexicon: Lexicon
) -> Extracted:
    value, written, c, _ = stated
    pair_text = f"{q.models[0].display(lexicon)} vs {q.models[1].display(lexicon)}"
    exact = abs(value - round(value)) < 1e-9
    shown = written if value < 1 and not exact else _ratio_text(value, q, lexicon)
    line = lead(lexicon, "figure", q.lang, subject=pair_text, label=label(q, lexicon), value=shown)
    if shown != written:
        line += f" ({written})"
    return Extracted(line, [c])


def model_ratio(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    """How many times one model's figure is the other's: stated in the text, or
    computed from both models' scores or prices, whichever is about what the
    question asks (its words)."""
    if len(q.models) < 2:
        return None
    stated = _stated_ratio(q, scored, lexicon)
    words = question_topic(q, lexicon)
    computed: tuple[float, str, list[Candidate], int] | None = None
    for kind in ("score", "price"):
        figure_kind = lexicon.figure_kind(kind)
        if figure_kind is None or not (figure_kind.asked_by(q.text) or q.benchmarks):
            continue  # a ratio of prices only when prices are asked about
        a, b = _pair(q, scored, lexicon, kind)
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
        return _stated_answer(q, stated, lexicon)
    if computed is not None:
        value, working, cands, _ = computed
        line = lead(
            lexicon,
            "arithmetic",
            q.lang,
            subject=pair_text,
            what=label(q, lexicon),
            working=f"{working} = {_ratio_text(value, q, lexicon)}",
        )
        return Extracted(line, cands)
    return None


def arithmetic(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted:
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
        return figure(q, scored, lexicon)
    if len(q.models) >= 2:
        return comparison(q, scored, lexicon, working=True)
    return one_model_difference(q, scored, lexicon) or figure(q, scored, lexicon)


__all__ = ["ModelName", "arithmetic", "comparison", "figure", "pick_figures"]
