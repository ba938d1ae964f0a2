"""Answers that are one figure: the figures of a candidate that answer the
question, on the side and under the condition asked, and the answer line."""

from __future__ import annotations

from kb.qa.evidence import Candidate
from kb.qa.evidence_match import names_benchmark, squash, topic_bigrams
from kb.qa.extract.base import (
    Extracted,
    Scored,
    asked_sides,
    benchmark_label,
    clause,
    kind_label,
    label,
    question_topic,
    same_block,
    side,
    subject_text,
)
from kb.qa.extract.extremum import asks_extremum, extremum
from kb.qa.figures import Figure, figures_in
from kb.qa.lexicon import Lexicon
from kb.qa.question import Question
from kb.qa.render import figure_text, join_values, lead

Found = tuple[Figure, Candidate]
# how deep a question naming several benchmarks looks for each one's figure
BENCHMARK_DEPTH = 10


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


def siblings(q: Question, scored: Scored, lexicon: Lexicon) -> list[Found]:
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


def per_benchmark(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    """ "GPT-4o mini 的 GPQA 和 MATH 分别是多少?": for each benchmark asked, the figure
    of the best candidate that names it (stated for the model asked), each cited;
    None unless two or more are found."""
    found: list[tuple[str, Figure, Candidate]] = []
    for bench in q.benchmarks:
        for _, c in scored[:BENCHMARK_DEPTH]:
            figs = pick_figures(q, c, lexicon) if names_benchmark(c.sentence.text, (bench,)) else []
            if figs:
                found.append((benchmark_label(q, bench), figs[0], c))
                break
    if len(found) < 2:
        return None
    owner = found[0][1].owner or found[0][2].subject
    subject = subject_text(owner, q, lexicon)
    value = join_values([f"{b} {figure_text(f, q.lang, lexicon)}" for b, f, _ in found], q.lang)
    kind = kind_label(q)
    line = lead(lexicon, "figure", q.lang, subject=subject, label=kind, value=value)
    cited: list[Candidate] = []
    for _, _, c in found:
        if not any(c is x for x in cited):
            cited.append(c)
    return Extracted(line.strip(" —:"), cited)


def figure(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted:
    if asks_extremum(q, lexicon) and (top := extremum(q, scored, lexicon)) is not None:
        return top  # "the highest score Haiku 4.5 got"
    if len(q.benchmarks) >= 2 and (several := per_benchmark(q, scored, lexicon)) is not None:
        return several
    best = scored[0][1]
    compare = any(p.search(q.text) for p in lexicon.question_types.get("comparison", ()))
    if compare and len(q.models) <= 1:
        pair = siblings(q, scored, lexicon)
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
    owners = list(dict.fromkeys(f.owner.display(lexicon) for f in figs if f.owner))
    if len(owners) > 1 and len(owners) == len(figs):  # a row's figures for two models
        subject = " vs ".join(owners)  # "Claude 3 Opus vs Claude 3.5 Sonnet: 38%, 64%"
    value = _shown(q, best, figs, lexicon)
    what = label(q, lexicon, best.sentence.text)
    line = lead(lexicon, "figure", q.lang, subject=subject, label=what, value=value)
    return Extracted(line.strip(" —:"), [best])


def figures_of(c: Candidate, kind: str | None, lexicon: Lexicon) -> list[Figure]:
    if kind is None:
        return list(c.figures)
    figure_kind = lexicon.figure_kind(kind)
    if figure_kind is None:
        return []
    return figures_in(c.sentence, figure_kind, lexicon, c.context, c.block)
