"""Answers that are sentences or lists: a list's items, a yes/no with its evidence, an
open question's best sentence (which model or entity: ``which.py``)."""

from __future__ import annotations

import dataclasses
import re

from kb.qa.evidence import Candidate
from kb.qa.extract.base import Extracted, Scored, clean_item, same_block, subject_text
from kb.qa.lexicon import Lexicon
from kb.qa.mentions import ModelName, without_names
from kb.qa.question import Question
from kb.qa.render import lead

_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"[.。!?！？다요]\s*['\"”’)\]]*\s*$")
_NEGATION = ("not ", "n't", "cannot", "없", "않", "못하", "不能", "不支持", "没有", "无法")


# a list answers a list question when its sentences together hold at least this
# share of the best single candidate's (0.5 tried: lists lost to a matching intro)
LIST_SHARE = 0.3
RUNNER_UP_SHARE = 0.5
# dev sets: answerable yes/no best evidence >= 0.08, unanswerable answered <= 0.05
YESNO_TOPIC_FLOOR = 0.07


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
    three best lists comes first. A runner-up list scoring at least
    ``RUNNER_UP_SHARE`` of the chosen one is shown under it (each cited): two
    lists the ranker cannot tell apart are both shown rather than one guessed,
    unless the chosen one has the number of items the question asks for."""
    top = scored[0][0]
    blocks = [
        (p, c, items)
        for p, c in list_blocks(scored, q.models)[:3]
        if p >= LIST_SHARE * top and len(items := [i for i in _items(c) if i]) >= 2  # 1 is no list
    ]
    count = expected_count(q, lexicon)
    if count is not None:
        blocks.sort(key=lambda pci: len(pci[2]) != count)
    if not blocks:
        return None
    p, c, items = blocks[0]
    chosen = _list_of(q, c, items, lexicon)
    if count is not None and len(items) == count:
        return chosen
    runner = next(((c2, i2) for p2, c2, i2 in blocks[1:] if p2 >= RUNNER_UP_SHARE * p), None)
    if runner is None:
        return chosen
    return dataclasses.replace(
        chosen, evidence=[*chosen.evidence, runner[0]], also=1, also_items=runner[1]
    )


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
    # an index built without the second encoder has no topic score: no floor then
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
        return with_runner_up(whole, scored)
    return with_runner_up(_with_continuation(_sentence(best), best), scored)


def with_runner_up(ex: Extracted, scored: Scored) -> Extracted:
    """``ex`` plus the next-best sentence as a second quote when the ranker gives it
    at least ``RUNNER_UP_SHARE`` of the best one's share: an open question's answer
    is often in one of two sentences the ranker cannot tell apart, and showing both
    (each cited) is better than guessing. Under a whole list, its own lead-in and
    items are no runner-up."""
    top = scored[0][0]
    taken = {(c.chunk_id, c.sentence.start) for c in ex.evidence}
    texts = {clean_item(c.sentence.text) for c in ex.evidence}
    for p, c in scored[1:]:
        if p < RUNNER_UP_SHARE * top:
            break
        if (c.chunk_id, c.sentence.start) in taken or clean_item(c.sentence.text) in texts:
            continue
        if ex.whole_block and same_block(c, ex.evidence[0]):
            continue
        if c.sentence.role in ("row", "header"):
            continue
        return dataclasses.replace(ex, evidence=[*ex.evidence, c], also=1)
    return ex
