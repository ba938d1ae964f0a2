"""Which model or entity: the name the evidence gives for what a which-question asks
(a model, a person, a company, a platform, a benchmark), or the owner of the larger or
smaller figure for "which is higher / cheaper"."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from itertools import chain, takewhile

from kb.qa.evidence import Candidate
from kb.qa.extract.base import Extracted, Scored, as_written
from kb.qa.extract.extremum import (
    asks_extremum,
    beyond_threshold,
    extremum,
    order_asked,
    threshold_asked,
)
from kb.qa.extract.names import asks_author, byline, organizations_in, proper_names
from kb.qa.extract.text import list_answer, open_answer
from kb.qa.figures import stated_values
from kb.qa.lexicon import Lexicon
from kb.qa.mentions import ModelName, find_mentions, without_names
from kb.qa.question import Question, find_benchmarks
from kb.qa.render import figure_text, join_values

# a which-person/company/platform question whose best candidates name none takes a
# name from the next ones down to this share ("谁…提出了质疑?": the Korean sentence naming
# 다리오 아모데이 ranks second at 0.03 under a Chinese one about 推理任务); dev sets: the
# same three questions gain at 0.005 and 0.02, two at 0.05, none changes otherwise
WHICH_DEEP = 8
WHICH_DEEP_SHARE = 0.02
# list questions answered by names ("哪两个模型", "which companies"); a platform or a
# benchmark list reads better as the sentence or the list that gives it
LIST_TARGETS = ("model", "company")
# figures a which-question can give to ask whose they are
STATED_KINDS = ("score", "price")


def which_target(q: Question, lexicon: Lexicon, cues: str = "which") -> str | None:
    """What a which-question asks for: a benchmark, a person, a company, a platform
    or a model. The words right after the question word decide ("哪款顶级模型" asks
    for a model even if the question also says 基准测试), else any in the question;
    None when it names none of them ("which tier": the evidence sentence answers).
    With ``cues="list"``: what a list question asks for, only from the words right
    after its list cue ("哪两个模型", "which companies"), else None."""
    cue = min(
        (m for p in lexicon.question_types.get(cues, ()) if (m := p.search(q.text))),
        key=lambda m: m.start(),
        default=None,
    )
    windows = [q.text[cue.start() : cue.end() + 12]] if cue is not None else []
    if cues == "which":
        windows.append(q.text)
    for window in windows:
        for target, patterns in lexicon.which_targets.items():
            if any(p.search(window) for p in patterns):
                return target
    return None


def _stated(q: Question, lexicon: Lexicon) -> set[tuple[str, float]]:
    return stated_values(without_names(q.text, lexicon), lexicon, STATED_KINDS)


def _entities(
    q: Question, c: Candidate, target: str | None, lexicon: Lexicon, members: bool = False
) -> list[str]:
    """The names of the kind ``target`` that ``c`` gives and the question does not
    (with ``members``: models more specific than one asked are kept, "Claude Opus 4"
    for "which Claude 4 models")."""
    text = c.sentence.text
    names: list[str] = []
    # "which model scored 73.3%", "哪个模型输入每百万token 1美元": the owner of that figure
    stated = _stated(q, lexicon)
    for f in c.figures:
        owner = f.owner.display(lexicon) if f.owner else None
        if owner and f.value is not None and (f.unit, f.value) in stated and owner not in names:
            names.append(owner)
    if names or (stated and target in ("model", None)):
        return names  # a figure's owner or none: not a model the sentence names otherwise
    if target == "benchmark":
        found = dict.fromkeys(find_benchmarks(text, lexicon))
        return [as_written(text, b) for b in found if b not in q.text.lower()]
    if target in ("person", "company", "platform"):
        return proper_names(text, q, lexicon, people=target != "company", orgs=target != "person")
    if target == "model":
        named = [m.name.resolve(c.context) for m in find_mentions(text, lexicon)]
        if members and any(_member(n, q) for n in named):
            named = [n for n in named if _member(n, q)]  # "Claude 4 系列": its models only
        for name in named:
            asked = any(name.compatible(a) and a.version for a in q.models)
            fresh = name.display(lexicon) not in names
            if fresh and ((members and _member(name, q)) or not asked):
                names.append(name.display(lexicon))
    return names


def _member(name: ModelName, q: Question) -> bool:
    """``name`` is a model of a series the question names ("Claude Opus 4" of
    "Claude 4"): it answers for it and is named more specifically."""
    return any(name.answers_for(a) and a.families < name.families for a in q.models)


def _neighbours(c: Candidate) -> list[Candidate]:
    """The sentences before and after a candidate in its passage, as candidates
    (an entity is often named next to the sentence that matches the question)."""
    out = []
    sentences = c.hit.chunk.sentences
    for pos in (c.position - 1, c.position + 1):
        if 0 <= pos < len(sentences):
            s = sentences[pos]
            block = c.hit.chunk.blocks[s.block] if s.block >= 0 else None
            out.append(
                dataclasses.replace(c, position=pos, sentence=s, block=block, figures=(), owned=())
            )
    return out


# candidates to take names from, each with the candidates an answer from it cites
Pool = Iterable[tuple[Candidate, list[Candidate]]]


def _best_few(scored: Scored) -> Pool:
    """The best three candidates within half the best one's share."""
    top = scored[0][0]
    return ((c, [c]) for p, c in scored[:3] if p >= 0.5 * top)


def _list_of_best(scored: Scored) -> list[Candidate]:
    """The items of the list whose lead-in is the best candidate, as candidates (the
    question matched the list as a whole; when it matched one item, that item's
    names answer: "which coding tool companies" is not every adopter listed)."""
    best = scored[0][1]
    block = best.block
    if block is None or block.kind != "list" or best.sentence.role != "lead":
        return []
    spans = {(s.start, s.end) for s in block.items}
    return [
        dataclasses.replace(best, position=pos, sentence=s, figures=(), owned=())
        for pos, s in enumerate(best.hit.chunk.sentences)
        if (s.start, s.end) in spans
    ]


def _beside_best(scored: Scored) -> Pool:
    """The sentences next to the best candidate, cited with it."""
    best = scored[0][1]
    return ((c, [c, best]) for c in _neighbours(best))


def _lower(scored: Scored) -> Pool:
    """Lower-ranked candidates, down to ``WHICH_DEEP_SHARE`` of the softmax."""
    deep = takewhile(lambda pc: pc[0] >= WHICH_DEEP_SHARE, scored[1:WHICH_DEEP])
    return ((c, [c]) for _, c in deep)


def _organizations_named(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    """For companies asked: the first candidate, however low, naming two or more
    organizations the lexicon knows that the question does not ("오픈AI의 GPT-4.5,
    구글의 Gemini 등 … 추론 기능 강화" under a Chinese question about who else
    strengthens reasoning), answered with those organizations."""
    for _, c in scored:
        found = organizations_in(c.sentence.text, q, lexicon)
        if len(found) >= 2:
            return Extracted(join_values(found, q.lang), [c])
    return None


def _first_named(
    q: Question,
    pool: Pool,
    target: str | None,
    lexicon: Lexicon,
    least: int = 1,
) -> Extracted | None:
    """The first candidate of the pool that names at least ``least`` entities of the
    kind asked, cited with the candidates it stands for (a list: all it names)."""
    for c, cites in pool:
        names = _entities(q, c, target, lexicon, members=least > 1)
        if len(names) >= least:
            return Extracted(join_values(names[: 4 if least == 1 else 12], q.lang), cites)
    return None


def ordered(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    """ "Which model scored higher on Terminal-Bench?": among the best candidates,
    the first stating figures of the asked kind for two or more models (a sentence
    or a table row), the owner of the largest (or, for "lower", "cheaper", the
    smallest), with its figure."""
    order = order_asked(q, lexicon)
    if order is None or re.search(r"\d", without_names(q.text, lexicon)):
        return None
    top = scored[0][0]
    for p, c in scored[:3]:
        if p < 0.5 * top:
            break
        figs = [(f, f.owner) for f in c.figures if f.owner is not None and f.value is not None]
        if len(q.models) >= 2:  # "A or B": only theirs, and both must be stated
            figs = [(f, o) for f, o in figs if any(o.answers_for(m) for m in q.models)]
            if not all(any(o.answers_for(m) for _, o in figs) for m in q.models):
                continue
        if len({o.display(lexicon) for _, o in figs}) < 2:
            continue
        if len({f.unit for f, _ in figs}) > 1:
            continue
        pick, owner = (max if order == "max" else min)(figs, key=lambda fo: fo[0].value or 0.0)
        return Extracted(f"{owner.display(lexicon)} ({figure_text(pick, q.lang, lexicon)})", [c])
    return None


def named_list(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    """A list question that asks for entities of a kind right after its list cue
    ("Claude 4 系列里提到了哪两个模型?", "which companies …"): the names the best
    candidate that gives two or more gives (down to ``WHICH_DEEP_SHARE``: names are
    what was asked), with the sentence that gives them; else the best list or
    sentence."""
    target = which_target(q, lexicon, cues="list")
    if target in ("model", None) and threshold_asked(q, lexicon) is not None:
        return beyond_threshold(q, scored, lexicon)  # "哪些模型…超过了 70%"
    if target in LIST_TARGETS:
        names: list[str] = []
        cites: list[Candidate] = []
        for c in _list_of_best(scored):  # a list's items name them together
            fresh = [n for n in _entities(q, c, target, lexicon, members=True) if n not in names]
            if fresh:
                names += fresh
                cites.append(c)
        if len(names) >= 2:
            return Extracted(join_values(names[:12], q.lang), cites)
        pool = chain(_best_few(scored), _beside_best(scored), _lower(scored))
        found = _first_named(q, pool, target, lexicon, least=2)
        if found is None and target == "company":
            found = _organizations_named(q, scored, lexicon)
        if found is not None:
            return found
    return list_answer(q, scored, lexicon)


def which(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    """The entity asked for, from the best candidate that names one, or else from a
    sentence next to the best candidate (for a model: or anywhere in the best
    candidate's passage, "它可以与旗舰模型Claude Sonnet 4.5配合使用" below a sentence about
    the collaboration; for a person, company or platform: or from a lower-ranked
    candidate that names one); "which is higher" from the figures. A
    question for a benchmark that no evidence names has no answer here; for
    anything else the best sentence answers (it often names the entity in a form
    the extraction does not take: "다리오 아모데이")."""
    target = which_target(q, lexicon)
    if target in ("model", None) and threshold_asked(q, lexicon) is not None:
        return beyond_threshold(q, scored, lexicon)  # "which models scored above 70%"
    if target in ("benchmark", None) and asks_extremum(q, lexicon):
        top_score = extremum(q, scored, lexicon)  # "在哪个基准上得分最高?": its highest
        if top_score is not None:
            return top_score
    if target in ("model", None):
        by_order = ordered(q, scored, lexicon)
        if by_order is not None:
            return by_order
    if target in ("person", None) and asks_author(q, lexicon):
        return byline(q, scored, lexicon)  # "who wrote the report?": its byline, or none
    best = scored[0][1]
    pools: list[Pool] = [_best_few(scored), _beside_best(scored)]
    if target == "model":  # a model named elsewhere in the best evidence's passage
        pools.append((c, [c, best]) for _, c in scored[1:] if c.chunk_id == best.chunk_id)
    stated = target in ("model", None) and bool(_stated(q, lexicon))
    if target in ("person", "company", "platform") or stated:  # deeper: a name asked
        pools.append(_lower(scored))
    found = _first_named(q, chain(*pools), target, lexicon)
    if found is not None:
        return found
    if stated:
        return None  # "which model scored 88.7%": no evidence states that figure
    if target == "benchmark":
        return None  # no evidence names a benchmark: the one asked about is not here
    return open_answer(q, scored, lexicon)
