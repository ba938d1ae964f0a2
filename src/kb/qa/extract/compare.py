"""Answers that compare two models: both models' figures side by side with
their difference, or a ratio the text states between them."""

from __future__ import annotations

from kb.index.tokenize import STOPWORDS
from kb.qa.evidence import Candidate
from kb.qa.evidence_match import topic_bigrams, topic_terms
from kb.qa.extract.base import (
    Extracted,
    Scored,
    clause,
    decimals,
    label,
    question_topic,
    surroundings,
)
from kb.qa.extract.extremum import order_asked
from kb.qa.extract.figure_pick import Found, figures_of
from kb.qa.extract.text import open_answer
from kb.qa.figures import Figure, figures_in
from kb.qa.glossary import expand
from kb.qa.lexicon import Lexicon
from kb.qa.mentions import ModelName, find_mentions
from kb.qa.question import Question
from kb.qa.render import figure_text, fmt_number, lead
from kb.scripts import has_cjk


def pair(
    q: Question, scored: Scored, lexicon: Lexicon, kind: str | None = None
) -> tuple[Found | None, Found | None]:
    """The first and second asked models' figures (of ``kind``, default the asked
    one): from one sentence or row stating both when there is one (the one closest
    to the question's words), else from two candidates."""
    a_model, b_model = q.models[0], q.models[1]
    words = question_topic(q, lexicon)
    both = []
    for rank, (_, c) in enumerate(scored):
        figs = figures_of(c, kind, lexicon)
        fa = next((f for f in figs if f.owner and f.owner.answers_for(a_model)), None)
        fb = next((f for f in figs if f.owner and f.owner.answers_for(b_model)), None)
        if fa and fb and fa is not fb:
            both.append((-len(words & topic_bigrams(c.sentence.text, lexicon)), rank, fa, fb, c))
    if both:
        _, _, fa, fb, c = min(both, key=lambda t: (t[0], t[1]))
        return (fa, c), (fb, c)
    found: list[Found | None] = [None, None]
    for _, c in scored:
        figs = figures_of(c, kind, lexicon)
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


def difference(fa: Figure, fb: Figure, q: Question, lexicon: Lexicon, working: bool) -> str:
    if fa.value is None or fb.value is None or fa.unit != fb.unit:
        return ""
    places = max(decimals(fa.text), decimals(fb.text))
    diff = round(fa.value - fb.value, places)
    key = "difference" if fa.unit == "%" else "difference_plain"
    out = f" ({lead(lexicon, key, q.lang, value=f'{diff:+.{places}f}')})"
    if working:
        out += f" — {fa.value:.{places}f} − {fb.value:.{places}f} = {diff:.{places}f}"
    return out


def winner(q: Question, ratio: float | None, lexicon: Lexicon) -> ModelName | None:
    """The model a "which is cheaper / faster / higher …?" comparison asks for, from
    the first model's figure over the second's; None when the question asks no
    direction, is arithmetic ("how much faster …?" asks for the number) or does
    not itself ask for the figure compared ("which is faster?" read as scores), or
    the two are equal."""
    asked = q.qtype == "comparison" and q.figure_asked
    order = order_asked(q, lexicon) if asked else None
    if order is None or ratio is None or ratio <= 0 or abs(ratio - 1.0) < 1e-9:
        return None
    return q.models[0] if (ratio > 1.0) == (order == "max") else q.models[1]


def with_winner(line: str, best: ModelName | None, q: Question, lexicon: Lexicon) -> str:
    if best is None:
        return line
    return lead(lexicon, "comparison_winner", q.lang, winner=best.display(lexicon), rest=line)


def pair_answer(q: Question, a: Found, b: Found, lexicon: Lexicon, working: bool) -> Extracted:
    (fa, ca), (fb, cb) = a, b
    line = lead(
        lexicon,
        "comparison",
        q.lang,
        label=label(q, lexicon, ca.sentence.text),
        a=q.models[0].display(lexicon),
        a_value=figure_text(fa, q.lang, lexicon),
        b=q.models[1].display(lexicon),
        b_value=figure_text(fb, q.lang, lexicon),
    ).lstrip(": ：")
    line += difference(fa, fb, q, lexicon, working)
    ratio = None
    if fa.value is not None and fb.value and fa.unit == fb.unit:
        ratio = fa.value / fb.value
    line = with_winner(line, winner(q, ratio, lexicon), q, lexicon)
    return Extracted(line, [ca] if ca is cb else [ca, cb])


def comparison(
    q: Question, scored: Scored, lexicon: Lexicon, working: bool = False
) -> Extracted | None:
    """Two models side by side. When the question asks for a figure (a score, a
    benchmark), both models' figures, and nothing when the evidence has only one
    of them or, for a benchmark named, either (a comparison with one side missing
    is not an answer: "Opus 4 vs Sonnet 4 on SWE-bench" when only Sonnet 4's score
    is stated); when it only compares
    ("is A faster than B?"), the stated ratio or the figure pair whose sentence is
    about what it compares, else the best sentence."""
    if len(q.models) < 2 or q.figure is None:
        return open_answer(q, scored, lexicon)
    a, b = pair(q, scored, lexicon)
    stated = stated_ratio(q, scored, lexicon)
    if q.figure_asked:
        if a is not None and b is not None:
            return pair_answer(q, a, b, lexicon, working)
        if q.benchmarks:
            return None  # one side's score, or neither, for the benchmark named
        if stated is not None and stated[3] > 0:
            # one side's figure only, but the text relates the two ("仅为Claude Sonnet 4
            # 的三分之一" for "which is cheaper?"): the stated ratio answers it
            return stated_answer(q, stated, lexicon)
        if a is not None or b is not None:
            return None  # one side's figure: no comparison
        return relating_both(q, scored, lexicon, on_topic=True)
    words = question_topic(q, lexicon)
    pair_overlap = -1
    if a is not None and b is not None:
        pair_overlap = len(words & topic_bigrams(a[1].sentence.text, lexicon))
    if stated is not None and stated[3] > 0 and stated[3] >= pair_overlap:
        return stated_answer(q, stated, lexicon)
    if a is not None and b is not None and pair_overlap > 0:
        return pair_answer(q, a, b, lexicon, working)
    return relating_both(q, scored, lexicon)


def relating_both(
    q: Question, scored: Scored, lexicon: Lexicon, on_topic: bool = False
) -> Extracted | None:
    """A comparison no figures answer: the best sentence that is about both models
    (each named in it, its list's lead-in or its section heading, or the subject of
    the text around it: "Claude 3.5 Sonnet은 이제 Claude 3 Opus보다 … 중간 tier 모델의
    … 비용 효율성"), with ``on_topic`` (a figure asked that neither has) also sharing
    a word with the question (glossary-expanded: "cheaper" meets "비용"); else
    nothing: a sentence about one of them, or with nothing of the figure asked ("클로드
    오푸스 4와 클로드 소네트 4를 선보였다" for "哪个更便宜?"), says nothing of how they
    compare."""
    asked = set()
    if on_topic:
        asked = _terms(" ".join([q.text, *expand(q.text, lexicon.glossary)]), lexicon)
    both = []
    for p, c in scored:
        around = surroundings(c)
        named = [m.name.resolve(c.context) for m in find_mentions(around, lexicon)]
        about = [n for n in (c.subject, c.context) if n is not None] + named
        said = c.block.raw if c.block is not None else c.sentence.text
        shares = not asked or bool(asked & _terms(f"{around} {said}", lexicon))
        if shares and all(any(n.answers_for(m) for n in about) for m in q.models[:2]):
            both.append((p, c))
    return open_answer(q, both, lexicon) if both else None


def _terms(text: str, lexicon: Lexicon) -> set[str]:
    return {t for t in topic_terms(text, lexicon) if t not in STOPWORDS}


def _fraction(value: float) -> str:
    """A ratio below one as a unit fraction when it is one (1/3), else its decimal."""
    inverse = 1 / value if value else 0.0
    if inverse and abs(inverse - round(inverse)) < 1e-6:
        return f"1/{round(inverse)}"
    return fmt_number(value)


def ratio_text(value: float, q: Question, lexicon: Lexicon) -> str:
    return lead(lexicon, "ratio", q.lang, value=fmt_number(value))


def stated_ratio(
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


def stated_answer(
    q: Question, stated: tuple[float, str, Candidate, int], lexicon: Lexicon
) -> Extracted:
    value, written, c, _ = stated
    pair_text = f"{q.models[0].display(lexicon)} vs {q.models[1].display(lexicon)}"
    exact = abs(value - round(value)) < 1e-9
    shown = written if value < 1 and not exact else ratio_text(value, q, lexicon)
    if shown == written and q.lang != "zh" and has_cjk(written):
        shown = _fraction(value)  # "1/3" for an English or Korean question, "三分之一" after
    what = label(q, lexicon, c.sentence.text)
    line = lead(lexicon, "figure", q.lang, subject=pair_text, label=what, value=shown)
    if shown != written:
        line += f" ({written})"
    return Extracted(with_winner(line, winner(q, value, lexicon), q, lexicon), [c])
