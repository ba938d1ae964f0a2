"""Answers that are words: which model or entity, a list's items, a yes/no with its
evidence, an open question's best sentence."""

from __future__ import annotations

import dataclasses
import re

from kb.qa.evidence import Candidate
from kb.qa.extract.base import Extracted, Scored, clean_item, subject_text
from kb.qa.lexicon import Lexicon
from kb.qa.mentions import ModelName, find_mentions, without_names
from kb.qa.question import Question, find_benchmarks
from kb.qa.render import figure_text, join_values, lead

_PROPER = re.compile(r"[A-Z][A-Za-z0-9&.\-]*(?:\s+[A-Z][A-Za-z0-9&.\-]*)*")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"[.。!?！？다요]\s*['\"”’)\]]*\s*$")
_NEGATION = ("not ", "n't", "cannot", "없", "않", "못하", "不能", "不支持", "没有", "无法")


def which_target(q: Question, lexicon: Lexicon) -> str | None:
    """What a which-question asks for: a benchmark, a person, a company, a platform
    or a model. The words right after the question word decide ("哪款顶级模型" asks
    for a model even if the question also says 基准测试), else any in the question;
    None when it names none of them ("which tier": the evidence sentence answers)."""
    cue = min(
        (m for p in lexicon.question_types.get("which", ()) if (m := p.search(q.text))),
        key=lambda m: m.start(),
        default=None,
    )
    windows = [q.text[cue.start() : cue.end() + 12]] if cue is not None else []
    for window in [*windows, q.text]:
        for target, patterns in lexicon.which_targets.items():
            if any(p.search(window) for p in patterns):
                return target
    return None


def _as_written(text: str, phrase: str) -> str:
    m = re.search(re.escape(phrase).replace(r"\ ", r"\s+"), text, re.I)
    return m.group(0) if m else phrase


def _proper_names(text: str, q: Question, lexicon: Lexicon) -> list[str]:
    low_q = q.text.lower()
    models = {m.start for m in find_mentions(text, lexicon)}
    out: list[str] = []
    for found in _PROPER.finditer(text):
        word = found.group(0).strip(" .")
        fresh = word.lower() not in low_q and word not in out
        if len(word) > 2 and fresh and found.start() not in models:
            out.append(word)
    return out


def _entities(q: Question, c: Candidate, target: str | None, lexicon: Lexicon) -> list[str]:
    text = c.sentence.text
    names: list[str] = []
    # "which model scored 73.3%": the owner of that figure
    numbers = {n.replace(" ", "") for n in re.findall(r"\d+(?:\.\d+)?\s?%", q.text)}
    for f in c.figures:
        if f.text.replace(" ", "") in numbers and f.owner:
            names.append(f.owner.display(lexicon))
    if names:
        return names
    if target == "benchmark":
        found = dict.fromkeys(find_benchmarks(text, lexicon))
        return [_as_written(text, b) for b in found if b not in q.text.lower()]
    if target in ("person", "company", "platform"):
        return _proper_names(text, q, lexicon)
    if target == "model":
        for m in find_mentions(text, lexicon):
            name = m.name.resolve(c.context)
            asked = any(name.compatible(a) and a.version for a in q.models)
            if not asked and name.display(lexicon) not in names:
                names.append(name.display(lexicon))
    return names


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


def ordered(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    """ "Which model scored higher on Terminal-Bench?": among the best candidates,
    the first stating figures of the asked kind for two or more models (a sentence
    or a table row), the owner of the largest (or, for "lower", "cheaper", the
    smallest), with its figure."""
    order = next(
        (k for k, pats in lexicon.which_order.items() if any(p.search(q.text) for p in pats)),
        None,
    )
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
    if target in ("model", None):
        by_order = ordered(q, scored, lexicon)
        if by_order is not None:
            return by_order
    top = scored[0][0]
    for p, c in scored[:3]:
        if p < 0.5 * top:
            break
        names = _entities(q, c, target, lexicon)
        if names:
            return Extracted(join_values(names[:4], q.lang), [c])
    for c in _neighbours(scored[0][1]):
        names = _entities(q, c, target, lexicon)
        if names:
            return Extracted(join_values(names[:4], q.lang), [c, scored[0][1]])
    if target == "model":  # a model named elsewhere in the best evidence's passage
        best = scored[0][1]
        for _, c in scored[1:]:
            if c.chunk_id == best.chunk_id and (names := _entities(q, c, target, lexicon)):
                return Extracted(join_values(names[:4], q.lang), [c, best])
    if target in ("person", "company", "platform"):  # deeper: a name of the kind asked
        for p, c in scored[1:WHICH_DEEP]:
            if p < WHICH_DEEP_SHARE:
                break
            if names := _entities(q, c, target, lexicon):
                return Extracted(join_values(names[:4], q.lang), [c])
    if target == "benchmark":
        return None  # no evidence names a benchmark: the one asked about is not here
    return open_answer(q, scored, lexicon)


# a list answers a list question when its sentences together hold at least this
# share of the best single candidate's (0.5 tried: lists lost to a matching intro)
LIST_SHARE = 0.3
RUNNER_UP_SHARE = 0.5
# dev sets: answerable yes/no best evidence >= 0.08, unanswerable answered <= 0.05
YESNO_TOPIC_FLOOR = 0.07
# a which-person/company/platform question whose best candidates name none takes a
# name from the next ones down to this share ("谁…提出了质疑?": the Korean sentence naming
# 다리오 아모데이 ranks second at 0.03 under a Chinese one about 推理任务); dev sets: the
# same three questions gain at 0.005 and 0.02, two at 0.05, none changes otherwise
WHICH_DEEP = 8
WHICH_DEEP_SHARE = 0.02


def list_blocks(
    scored: Scored, models: tuple[ModelName, ...] = ()
) -> list[tuple[float, Candidate]]:
    """Each list or table among the candidates with the summed share of its
    sentences (lead-in and items, each counted once), best first, represented by
    its best-scored sentence: a list whose items the question matches together
    outweighs one prose sentence that matches it a little better. A list about
    another model than those in ``models`` (its lead-in or section names it) is
    left out."""
    sums: dict[tuple[str, int, int], list[float]] = {}
    best: dict[tuple[str, int, int], Candidate] = {}
    seen: set[tuple[str, int, int]] = set()
    for p, c in scored:
        if c.block is None or not c.block.items or c.sentence.role not in ("lead", "item", "row"):
            continue
        if models and c.context is not None and not any(c.context.answers_for(m) for m in models):
            continue  # "GPT-4o mini 선택이 유리한 경우" does not answer for Claude 3.5 Haiku
        key = (c.hit.chunk.doc_id, c.block.start, c.block.end)
        sentence_key = (c.hit.chunk.doc_id, c.sentence.start, c.sentence.end)
        if sentence_key in seen:
            continue
        seen.add(sentence_key)
        sums.setdefault(key, [0.0])[0] += p
        best.setdefault(key, c)
    return sorted(((sums[k][0], best[k]) for k in sums), key=lambda pc: -pc[0])


def _items(c: Candidate) -> list[str]:
    assert c.block is not None
    if c.block.kind == "table":
        return [": ".join(x for x in c.block.cells(s) if x) for s in c.block.items]
    return [i for i in (clean_item(s.text) for s in c.block.items) if i]


def expected_count(q: Question, lexicon: Lexicon) -> int | None:
    """How many items the question expects ("the three characteristics", "3가지",
    "三个"), when it says."""
    text = without_names(q.text, lexicon)
    m = re.search(r"(?<![\w.])([2-9]|1[0-2])(?![\w.%])", text)
    if m:
        return int(m.group(1))
    return next(
        (n for n, pats in lexicon.list_counts.items() if any(p.search(text) for p in pats)), None
    )


def _whole_list(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    """The list (or table) whose sentences together score best, when they score at
    least ``LIST_SHARE`` of the best single candidate: its lead-in and items. When
    the question says how many items it expects, a list of that many among the
    three best lists comes first."""
    top = scored[0][0]
    blocks = [
        (c, items)
        for p, c in list_blocks(scored, q.models)[:3]
        if p >= LIST_SHARE * top and len(items := [i for i in _items(c) if i]) >= 2  # 1 is no list
    ]
    count = expected_count(q, lexicon)
    if count is not None:
        blocks.sort(key=lambda ci: len(ci[1]) != count)
    return next((_list_of(q, c, items, lexicon) for c, items in blocks[:1]), None)


def _list_of(q: Question, c: Candidate, items: list[str], lexicon: Lexicon) -> Extracted:
    subject = subject_text(c.context or c.subject, q, lexicon)  # the list's model
    line = lead(lexicon, "list", q.lang, subject=subject, n=str(len(items)))
    return Extracted(line.strip(" —:"), [c], items=items, whole_block=True)


def _own_list(q: Question, c: Candidate, lexicon: Lexicon) -> Extracted | None:
    """The list ``c`` (a lead-in or an item) belongs to, whole: an open or yes/no
    question whose best evidence is part of a list is answered by that list, not
    by another list that scores well as a whole."""
    if c.block is None or c.block.kind != "list" or c.sentence.role not in ("lead", "item"):
        return None
    items = [i for i in _items(c) if i]
    return _list_of(q, c, items, lexicon) if len(items) >= 2 else None


def list_answer(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted:
    """The best list whole, else the best sentence as an open answer."""
    return _whole_list(q, scored, lexicon) or open_answer(q, scored, lexicon)


def _sentence(c: Candidate) -> str:
    """A sentence as an answer: a list item with its lead-in ("…예정되어 있습니다:
    이미지 입력 기능 추가"), since an item alone loses what it is an item of."""
    text = clean_item(c.sentence.text)
    if c.sentence.role == "item" and c.block is not None and c.block.lead is not None:
        return f"{clean_item(c.block.lead.text)} {text}"
    return text


def continuation(c: Candidate) -> Candidate | None:
    """The sentence that carries on from ``c`` in its paragraph: the next one, when
    no blank line parts them (after a heading: the first sentence under it), it is
    prose (no list item, row or heading) and not an instruction. An open answer
    reads best as the sentence that matches the question and the one after it
    ("…혁신적인 접근 방식을 채택했습니다." says what only next)."""
    if c.sentence.role in ("row", "header"):
        return None
    sentences = c.hit.chunk.sentences
    pos = c.position + 1
    if pos >= len(sentences):
        return None
    nxt = sentences[pos]
    if nxt.role or getattr(nxt, "instruction", False) or nxt.start < c.sentence.end:
        return None
    chunk = c.hit.chunk
    gap = chunk.raw[c.sentence.end - chunk.start : nxt.start - chunk.start]
    heading = not c.sentence.role and not _SENTENCE_END.search(c.sentence.text)
    if (_BLANK_LINE.search(gap) and not heading) or nxt.text.strip() == chunk.section.strip():
        return None  # a heading's paragraph is the one under it
    if not _SENTENCE_END.search(nxt.text):
        return None  # a heading or a caption, not a sentence that carries on
    return dataclasses.replace(c, position=pos, sentence=nxt, block=None, figures=(), owned=())


def _with_continuation(text: str, best: Candidate) -> Extracted:
    nxt = continuation(best)
    if nxt is None:
        return Extracted(text, [best], quote_in_lead=True)
    return Extracted(f"{text} {clean_item(nxt.sentence.text)}", [best, nxt], quote_in_lead=True)


def yes_no(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    """The best sentence, with "yes" unless it is negated or a list item; none when
    the sentence is not about what the question asks beyond the model's name (its
    cross-lingual similarity to the question without names is below
    ``YESNO_TOPIC_FLOOR``): "Can Claude Opus 4 generate images?" is not answered
    "Yes" by the sentence that says Opus 4 was released."""
    best = scored[0][1]
    if best.features.get("topic_second", 1.0) < YESNO_TOPIC_FLOOR:
        return None
    if best.sentence.role == "lead" and (whole := _own_list(q, best, lexicon)) is not None:
        return whole
    text = _sentence(best)
    if best.sentence.role == "item" or any(n in text for n in _NEGATION):
        return _with_continuation(text, best)
    return _with_continuation(f"{lexicon.label('yes', q.lang)} — {text}", best)


def open_answer(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted:
    best = scored[0][1]
    whole = _own_list(q, best, lexicon)  # the evidence is a lead-in or one item: its list
    if whole is not None:
        return whole
    return with_runner_up(_with_continuation(_sentence(best), best), scored)


def with_runner_up(ex: Extracted, scored: Scored) -> Extracted:
    """``ex`` plus the next-best sentence as a second quote when the ranker gives it
    at least ``RUNNER_UP_SHARE`` of the best one's share: an open question's answer
    is often in one of two sentences the ranker cannot tell apart, and showing both
    (each cited) is better than guessing."""
    top = scored[0][0]
    taken = {(c.chunk_id, c.sentence.start) for c in ex.evidence}
    texts = {clean_item(c.sentence.text) for c in ex.evidence}
    for p, c in scored[1:]:
        if p < RUNNER_UP_SHARE * top:
            break
        if (c.chunk_id, c.sentence.start) in taken or clean_item(c.sentence.text) in texts:
            continue
        if c.sentence.role in ("row", "header"):
            continue
        return dataclasses.replace(ex, evidence=[*ex.evidence, c], also=1)
    return ex
