"""One model's best or worst score: "What is the highest score Claude Haiku 4.5 got?",
"Haiku 4.5 在哪个基准上得分最高?" — the largest (or smallest) percentage stated for
the model asked among all candidates, with the benchmark its sentence names."""

from __future__ import annotations

import re

from kb.qa.evidence import Candidate
from kb.qa.evidence_match import names_benchmark
from kb.qa.extract.base import Extracted, Scored, as_written, kind_label, subject_text
from kb.qa.figures import Figure, stated_values
from kb.qa.lexicon import Lexicon
from kb.qa.mentions import without_names
from kb.qa.question import Question, find_benchmarks
from kb.qa.render import figure_text, join_values, lead

# candidates a threshold question reads for figures beyond it, and their least share
THRESHOLD_DEPTH = 8
THRESHOLD_SHARE = 0.02


def order_asked(q: Question, lexicon: Lexicon) -> str | None:
    """ "max" or "min" when the question asks for the higher/highest or the
    lower/lowest (cheaper, …) one, else None."""
    return next(
        (k for k, pats in lexicon.which_order.items() if any(p.search(q.text) for p in pats)),
        None,
    )


def asks_extremum(q: Question, lexicon: Lexicon) -> bool:
    """One model named, no benchmark and no number: its highest or lowest score is
    asked for ("Haiku 4.5's best benchmark result")."""
    if len(q.models) != 1 or q.benchmarks or q.figure is None or q.figure.kind != "score":
        return False
    if re.search(r"\d", without_names(q.text, lexicon)):
        return False
    return order_asked(q, lexicon) is not None


def threshold_asked(q: Question, lexicon: Lexicon) -> tuple[str, str, float] | None:
    """("above" | "below", unit, value) when the question asks for the models beyond
    a score it gives ("which models scored above 70%?", "70% 넘은 모델", "超过70%")."""
    text = without_names(q.text, lexicon)
    stated = stated_values(text, lexicon, ("score",))
    side = next(
        (k for k, pats in lexicon.thresholds.items() if any(p.search(text) for p in pats)), None
    )
    if side is None or len(stated) != 1:
        return None
    unit, value = next(iter(stated))
    return side, unit, value


def beyond_threshold(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    """The models whose score lies beyond the one the question gives, each with its
    figure, from the best candidates (those naming the benchmark asked, when one
    is), every sentence used cited; None when the question asks no threshold or no
    candidate states a figure beyond it."""
    asked = threshold_asked(q, lexicon)
    if asked is None:
        return None
    side, unit, limit = asked
    parts: dict[str, str] = {}
    cites: list[Candidate] = []
    for p, c in scored[:THRESHOLD_DEPTH]:
        if p < THRESHOLD_SHARE:
            break
        where = " ".join([c.sentence.text, c.block.lead.text if c.block and c.block.lead else ""])
        if q.benchmarks and not names_benchmark(where + " " + c.hit.chunk.section, q.benchmarks):
            continue
        used = False
        for f in c.figures:
            if f.owner is None or f.value is None or f.unit != unit or f.text.startswith("+"):
                continue
            if (f.value > limit) if side == "above" else (f.value < limit):
                owner = f.owner.display(lexicon)
                if owner not in parts:
                    parts[owner] = f"{owner} ({figure_text(f, q.lang, lexicon)})"
                    used = True
        if used:
            cites.append(c)
    if not parts:
        return None
    return Extracted(join_values(list(parts.values()), q.lang), cites)


def _scores(scored: Scored) -> list[tuple[Figure, Candidate]]:
    """Each percentage stated for the model asked (not a "+1.4%" difference), once."""
    seen: set[tuple[str, int]] = set()
    out: list[tuple[Figure, Candidate]] = []
    for _, c in scored:
        for f in c.owned:
            if f.kind != "score" or f.value is None or f.text.startswith(("+", "-")):
                continue
            key = (c.hit.chunk.doc_id, c.sentence.start + f.start)
            if key not in seen:
                seen.add(key)
                out.append((f, c))
    return out


def extremum(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    """The highest (or lowest) score of the model asked over every candidate, led by
    the benchmark its sentence names; None with fewer than two scores to choose
    from (one figure is no "highest")."""
    order = order_asked(q, lexicon)
    found = _scores(scored)
    if order is None or len(found) < 2:
        return None
    pick = max if order == "max" else min
    f, c = pick(found, key=lambda fc: fc[0].value or 0.0)
    benches = find_benchmarks(c.sentence.text, lexicon)
    name = as_written(c.sentence.text, benches[0]) if benches else ""
    kind = kind_label(q)
    subject = subject_text(f.owner or c.subject, q, lexicon)
    value = figure_text(f, q.lang, lexicon)
    line = lead(lexicon, "figure", q.lang, subject=subject, label=name or kind, value=value)
    return Extracted(line.strip(" —:"), [c])
