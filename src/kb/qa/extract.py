"""From scored candidates to the answer a person asked for, per question type.

* figure: the whole figure as written, stated for the model asked;
* which: the model or entity the evidence names (not the ones the question names);
* list: the lead-in and every item after it (the list is cited as one block);
* comparison: both models' figures and, when numeric, the difference;
* arithmetic: a difference, a ratio or a cost for the token volumes asked, with its
  working, citing every figure used;
* yes/no and open: the best sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.qa.evidence import Candidate, squash
from kb.qa.figures import Figure
from kb.qa.glossary import expand
from kb.qa.lexicon import Lexicon
from kb.qa.mentions import ModelName, find_mentions
from kb.qa.question import Question, find_benchmarks
from kb.qa.render import figure_text, fmt_number, join_values, lead, money

Scored = list[tuple[float, Candidate]]
_BULLET = re.compile(r"^\s*(?:[-*•·▪‣]|\d{1,2}[.)]|[①-⑳])\s*")
_PROPER = re.compile(r"[A-Z][A-Za-z0-9&.\-]*(?:\s+[A-Z][A-Za-z0-9&.\-]*)*")
_NEGATION = ("not ", "n't", "cannot", "없", "않", "못하", "不能", "不支持", "没有", "无法")


@dataclass(frozen=True)
class Extracted:
    lead: str  # the lead line, without citation markers
    evidence: list[Candidate]  # cited in this order; the first holds the main evidence
    items: list[str] = field(default_factory=list)  # list items (cited with the first)
    whole_block: bool = False  # cite the first evidence's list block, not its sentence
    quote_in_lead: bool = False  # the lead is the evidence sentence itself


def clean_item(text: str) -> str:
    return _BULLET.sub("", text).strip()


def _subject_text(name: ModelName | None, q: Question, lexicon: Lexicon) -> str:
    if q.model is not None and (name is None or name.compatible(q.model)):
        chosen = name if name is not None and len(name.words) >= len(q.model.words) else q.model
        return chosen.display(lexicon)
    return name.display(lexicon) if name is not None else ""


def _benchmark_label(q: Question) -> str:
    if not q.benchmarks:
        return ""
    phrase = q.benchmarks[0]
    m = re.search(re.escape(phrase).replace(r"\ ", r"\s+"), q.text, re.I)
    return m.group(0) if m else phrase


def _label(q: Question, lexicon: Lexicon) -> str:
    bench = _benchmark_label(q)
    if bench:
        return bench
    return q.figure.label.get(q.lang, q.figure.label.get("en", "")) if q.figure else ""


def _side(sentence: str, f: Figure, lexicon: Lexicon) -> str:
    """ "input"/"output" when the words just before the figure say so."""
    before = sentence[max(0, f.start - 16) : f.start].lower()
    found = ""
    best = -1
    for side, words in lexicon.figure_context.items():
        for w in words:
            at = before.rfind(w.lower())
            if at > best:
                best, found = at, side
    return found


def _asked_sides(q: Question, lexicon: Lexicon) -> set[str]:
    low = q.text.lower()
    return {side for side, words in lexicon.figure_context.items() if any(w in low for w in words)}


def _bigrams(text: str) -> set[str]:
    t = re.sub(r"[\s\d.%]+", "", text.lower())
    return {t[i : i + 2] for i in range(len(t) - 1)}


def topic_bigrams(text: str, lexicon: Lexicon) -> set[str]:
    """Character bigrams of ``text`` without its model names and numbers: what a
    sentence or question is about, beyond which model and which figure."""
    kept = []
    pos = 0
    for m in find_mentions(text, lexicon):
        kept.append(text[pos : m.start])
        pos = m.end
    kept.append(text[pos:])
    return _bigrams(" ".join(kept))


def question_topic(q: Question, lexicon: Lexicon) -> set[str]:
    return topic_bigrams(" ".join([q.text, *expand(q.text)]), lexicon)


def _clause(text: str, f: Figure) -> str:
    start = max((m.end() for m in re.finditer(r"[,，;；]", text[: f.start])), default=0)
    end = min(
        (m.start() for m in re.finditer(r"[,，;；]", text[f.end :])), default=len(text) - f.end
    )
    return text[start : f.end + end]


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
        first = [f for f in figs if f.owner is not None and f.owner.compatible(q.models[0])]
        figs = first or figs
    if q.figure is not None and q.figure.kind == "price":
        sides = _asked_sides(q, lexicon)
        if sides:
            figs = [f for f in figs if _side(text, f, lexicon) in sides] or figs
        return figs
    if len(figs) > 1:
        words = question_topic(q, lexicon)
        overlap = [len(words & topic_bigrams(_clause(text, f), lexicon)) for f in figs]
        figs = [f for f, o in zip(figs, overlap, strict=True) if o == max(overlap)]
    return figs


def figure(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted:
    best = scored[0][1]
    figs = pick_figures(q, best, lexicon)
    text = best.sentence.text
    values = []
    for f in figs:
        shown = figure_text(f, q.lang, lexicon)
        side = _side(text, f, lexicon) if f.kind == "price" else ""
        values.append(f"{lexicon.label(side, q.lang)} {shown}".strip() if side else shown)
    value = join_values(values, q.lang)
    if (
        q.figure is not None
        and q.figure.kind == "price"
        and any(p.search(text) for p in lexicon.per_million)
    ):
        value += f" ({lexicon.label('per_million', q.lang)})"
    owner = figs[0].owner if figs else best.subject
    subject = _subject_text(owner, q, lexicon) or _subject_text(best.subject, q, lexicon)
    if q.figure is not None and q.figure.kind == "multiplier" and len(q.models) >= 2:
        subject = f"{q.models[0].display(lexicon)} vs {q.models[1].display(lexicon)}"
    elif figs and figs[0].column and not figs[0].owner:
        subject = figs[0].column  # a table column that is no model ("이전 세대 모델")
    line = lead(lexicon, "figure", q.lang, subject=subject, label=_label(q, lexicon), value=value)
    return Extracted(line.strip(" —:"), [best])


def which_target(q: Question, lexicon: Lexicon) -> str | None:
    """What a which-question asks for: a benchmark, a person, a company, a platform
    or a model (the first whose words it uses; None when it names none of them:
    "which tier" is answered with the evidence sentence)."""
    for target, patterns in lexicon.which_targets.items():
        if any(p.search(q.text) for p in patterns):
            return target
    return None


def _proper_names(text: str, q: Question, lexicon: Lexicon) -> list[str]:
    low_q = q.text.lower()
    out: list[str] = []
    models = {m.start for m in find_mentions(text, lexicon)}
    for found in _PROPER.finditer(text):
        word = found.group(0).strip(" .")
        fresh = word.lower() not in low_q and word not in out
        if len(word) > 2 and fresh and found.start() not in models:
            out.append(word)
    return out


def which(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted:
    best = scored[0][1]
    text = best.sentence.text
    target = which_target(q, lexicon)
    names: list[str] = []
    # "which model scored 73.3%": the owner of that figure
    numbers = {n.replace(" ", "") for n in re.findall(r"\d+(?:\.\d+)?\s?%", q.text)}
    for f in best.figures:
        if f.text.replace(" ", "") in numbers and f.owner:
            names.append(f.owner.display(lexicon))
    if not names and target == "benchmark":
        names = [
            b for b in dict.fromkeys(find_benchmarks(text, lexicon)) if b not in q.text.lower()
        ]
        names = [_as_written(text, b) for b in names]
    if not names and target in ("person", "company", "platform"):
        names = _proper_names(text, q, lexicon)
    if not names and target == "model":
        for m in find_mentions(text, lexicon):
            name = m.name.resolve(best.subject)
            asked = any(name.compatible(a) and a.version for a in q.models)
            if not asked and name.display(lexicon) not in names:
                names.append(name.display(lexicon))
    if not names:
        return open_answer(q, scored, lexicon)
    return Extracted(join_values(names[:4], q.lang), [best])


def _as_written(text: str, phrase: str) -> str:
    m = re.search(re.escape(phrase).replace(r"\ ", r"\s+"), text, re.I)
    return m.group(0) if m else phrase


def list_answer(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted:
    top = scored[0][0]
    for p, c in scored:
        if p < 0.5 * top:
            break
        if c.block is not None and c.block.kind == "list" and c.block.items:
            items = [clean_item(s.text) for s in c.block.items]
            items = [i for i in items if i]
            subject = _subject_text(c.subject, q, lexicon)
            line = lead(lexicon, "list", q.lang, subject=subject, n=str(len(items)))
            return Extracted(line.strip(" —:"), [c], items=items, whole_block=True)
    return open_answer(q, scored, lexicon)


def _pair(
    q: Question, scored: Scored, lexicon: Lexicon
) -> tuple[tuple[Figure, Candidate] | None, tuple[Figure, Candidate] | None]:
    a_model, b_model = q.models[0], q.models[1]
    found: list[tuple[Figure, Candidate] | None] = [None, None]
    # prefer one sentence or row that states both, the one closest to the question's words
    words = question_topic(q, lexicon)
    both = []
    for rank, (_, c) in enumerate(scored):
        fa = next((f for f in c.figures if f.owner and f.owner.compatible(a_model)), None)
        fb = next((f for f in c.figures if f.owner and f.owner.compatible(b_model)), None)
        if fa and fb and fa is not fb:
            both.append((-len(words & topic_bigrams(c.sentence.text, lexicon)), rank, fa, fb, c))
    if both:
        _, _, fa, fb, c = min(both, key=lambda t: (t[0], t[1]))
        return (fa, c), (fb, c)
    for _, c in scored:
        for i, model in enumerate((a_model, b_model)):
            if found[i] is None:
                other = (b_model, a_model)[i]
                f = next(
                    (
                        f
                        for f in c.figures
                        if f.owner and f.owner.compatible(model) and not f.owner.compatible(other)
                    ),
                    None,
                )
                if f is not None:
                    found[i] = (f, c)
    return found[0], found[1]


def comparison(
    q: Question, scored: Scored, lexicon: Lexicon, difference: bool = False
) -> Extracted:
    if len(q.models) < 2 or q.figure is None:
        return open_answer(q, scored, lexicon)
    a, b = _pair(q, scored, lexicon)
    if a is None or b is None:
        found = a or b
        if found is None:
            return open_answer(q, scored, lexicon)
        f, c = found
        subject = f.owner.display(lexicon) if f.owner else ""
        line = lead(
            lexicon,
            "figure",
            q.lang,
            subject=subject,
            label=_label(q, lexicon),
            value=figure_text(f, q.lang, lexicon),
        )
        return Extracted(line, [c])
    (fa, ca), (fb, cb) = a, b
    line = lead(
        lexicon,
        "comparison",
        q.lang,
        label=_label(q, lexicon),
        a=q.models[0].display(lexicon),
        a_value=figure_text(fa, q.lang, lexicon),
        b=q.models[1].display(lexicon),
        b_value=figure_text(fb, q.lang, lexicon),
    ).lstrip(": ：")
    if fa.value is not None and fb.value is not None and fa.unit == fb.unit:
        places = max(_decimals(fa.text), _decimals(fb.text))
        diff = round(fa.value - fb.value, places)
        shown = f"{diff:+.{places}f}"
        key = "difference" if fa.unit == "%" else "difference_plain"
        line += f" ({lead(lexicon, key, q.lang, value=shown)})"
        if difference:
            line += f" — {fa.value:.{places}f} − {fb.value:.{places}f} = {diff:.{places}f}"
    evidence = [ca] if ca is cb else [ca, cb]
    return Extracted(line, evidence)


def _decimals(text: str) -> int:
    m = re.search(r"\.(\d+)", text)
    return len(m.group(1)) if m else 0


def cost(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    """Cost of the token volumes asked at the prices stated for the model asked."""
    for _, c in scored:
        prices = [f for f in c.owned if f.kind == "price" and f.value is not None]
        if not prices:
            continue
        by_side = {_side(c.sentence.text, f, lexicon): f for f in prices}
        terms = []
        total = 0.0
        currency = prices[0].unit
        for side, volume in q.volumes.items():
            f = by_side.get(side) or (by_side.get("input") if side == "" else None) or prices[0]
            if f.value is None:
                continue
            millions = volume / 1e6
            total += f.value * millions
            terms.append(f"{money(f.value, currency, q.lang, lexicon)} × {fmt_number(millions)}")
        if not terms:
            continue
        working = " + ".join(terms) + f" = {money(total, currency, q.lang, lexicon)}"
        vols = join_values(
            [
                lead(
                    lexicon,
                    "volume",
                    q.lang,
                    amount=_amount(v, q.lang),
                    side=lexicon.label(side, q.lang) if side else "",
                )
                .replace("  ", " ")
                .strip()
                for side, v in q.volumes.items()
            ],
            q.lang,
        )
        what = lead(lexicon, "cost_for", q.lang, volumes=vols)
        subject = _subject_text(prices[0].owner, q, lexicon)
        line = lead(lexicon, "arithmetic", q.lang, subject=subject, what=what, working=working)
        return Extracted(line, [c])
    return None


def _amount(tokens: float, lang: str) -> str:
    if lang == "ko" and tokens >= 1e4:
        return f"{fmt_number(tokens / 1e4)}만"
    if lang == "zh" and tokens >= 1e4:
        return f"{fmt_number(tokens / 1e4)}万"
    return f"{fmt_number(tokens / 1e6)}M"


def arithmetic(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted:
    if q.volumes and q.figure is not None and q.figure.kind == "price":
        done = cost(q, scored, lexicon)
        if done is not None:
            return done
    if q.figure is not None and q.figure.kind == "multiplier":
        return figure(q, scored, lexicon)
    if len(q.models) >= 2:
        return comparison(q, scored, lexicon, difference=True)
    return figure(q, scored, lexicon)


def yes_no(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted:
    best = scored[0][1]
    text = clean_item(best.sentence.text)
    if any(n in text for n in _NEGATION):
        return Extracted(text, [best], quote_in_lead=True)
    return Extracted(f"{lexicon.label('yes', q.lang)} — {text}", [best], quote_in_lead=True)


def open_answer(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted:
    best = scored[0][1]
    return Extracted(clean_item(best.sentence.text), [best], quote_in_lead=True)


def extract(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted:
    best = scored[0][1]
    if (
        q.qtype in ("list", "open", "yesno")
        and best.sentence.role == "lead"
        and best.block is not None
        and best.block.kind == "list"
    ):
        return list_answer(q, scored, lexicon)  # the evidence is a lead-in: give its items
    if q.qtype == "figure":
        return figure(q, scored, lexicon)
    if q.qtype == "which":
        return which(q, scored, lexicon)
    if q.qtype == "list":
        return list_answer(q, scored, lexicon)
    if q.qtype == "comparison":
        return comparison(q, scored, lexicon)
    if q.qtype == "arithmetic":
        return arithmetic(q, scored, lexicon)
    if q.qtype == "yesno":
        return yes_no(q, scored, lexicon)
    return open_answer(q, scored, lexicon)
