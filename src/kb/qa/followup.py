"""Follow-up questions: the conversation so far turns a follow-up into a standalone
question before retrieval.

Without a language model the rules are: a question naming no model inherits the
model of the latest earlier question that named one, put where the question's
pronoun is ("it", "그 모델", "它"), or added to an elliptical question ("and the
output?"); a short elliptical question naming a new model ("And Claude 3.5 Haiku?",
"Sonnet 4 呢?") takes the previous standalone question with the old model swapped
for the new one. With a language model (``rewrite``), the model writes the
standalone question. The cue words are ``kb/data/followup.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol

from kb.errors import QueryError
from kb.qa.answer import Answer, Answerer
from kb.qa.hits import Retrieval
from kb.qa.lexicon import Lexicon
from kb.qa.mentions import Mention, ModelName, find_mentions
from kb.scripts import question_language
from kb.settings import Settings, answer_depth

if TYPE_CHECKING:
    from kb.llm.clients import ChatClient
    from kb.qa.extractive import ExtractiveAnswerer
    from kb.qa.retrieve import HybridRetriever

MAX_TURNS = 50
MAX_TURN_CHARS = 4000
ROLES = ("user", "assistant")


class HistoryError(QueryError):
    """The conversation passed is not a list of {"role", "content"} turns."""


@dataclass(frozen=True)
class Turn:
    role: str
    content: str


@dataclass(frozen=True)
class Resolved:
    question: str  # as asked
    standalone: str  # what is searched and answered
    how: str  # "as asked", "inherited", "swapped", "rewritten"
    model: str = ""  # the model name carried over, as written
    name: ModelName | None = None


@dataclass(frozen=True)
class Cues:
    pronouns: dict[str, tuple[str, ...]]
    ellipsis: dict[str, tuple[str, ...]]
    endings: dict[str, tuple[str, ...]]


@lru_cache(maxsize=1)
def cues() -> Cues:
    data: dict[str, Any] = json.loads(
        resources.files("kb.data").joinpath("followup.json").read_text(encoding="utf-8")
    )

    def longest(d: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
        return {k: tuple(sorted(v, key=len, reverse=True)) for k, v in d.items()}

    return Cues(
        longest(data["pronouns"]), longest(data["ellipsis"]), longest(data["ellipsis_endings"])
    )


def parse_history(raw: object) -> list[Turn]:
    """``raw`` (decoded JSON) as turns; HistoryError saying what is wrong."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise HistoryError('history must be a list of {"role", "content"} objects')
    if len(raw) > MAX_TURNS:
        raise HistoryError(f"history has {len(raw)} turns; at most {MAX_TURNS} are accepted")
    turns = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise HistoryError(f"history[{i}] must be an object with role and content")
        role, content = item.get("role"), item.get("content")
        if role not in ROLES:
            raise HistoryError(f"history[{i}].role must be user or assistant, got {role!r}")
        if not isinstance(content, str):
            raise HistoryError(f"history[{i}].content must be a string")
        if len(content) > MAX_TURN_CHARS:
            raise HistoryError(f"history[{i}].content is over {MAX_TURN_CHARS} characters")
        turns.append(Turn(role, content))
    return turns


def _named(text: str, lexicon: Lexicon) -> list[Mention]:
    return [m for m in find_mentions(text, lexicon) if m.name.version]


def _find(text: str, words: Sequence[str], latin: bool) -> re.Match[str] | None:
    for w in words:
        pattern = rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])" if latin else re.escape(w)
        m = re.search(pattern, text, re.IGNORECASE)
        if m:
            return m
    return None


def _elliptical(text: str, lang: str, c: Cues) -> str | None:
    """``text`` without its elliptical opening or ending, or None when it has none."""
    low = text.strip()
    for w in c.ellipsis.get(lang, ()):
        if low.lower().startswith(w):
            return low[len(w) :].strip()
    for w in c.endings.get(lang, ()):
        if low.endswith(w):
            return low[: -len(w)].strip()
    return None


def _possessive(model: str, cue: str, lang: str) -> str:
    if lang == "en" and cue.lower() == "its":
        return f"{model}'s"
    if lang == "ko" and cue.endswith("의"):
        return f"{model}의"
    if lang == "ko" and cue[-1] in "은는":
        return f"{model}{cue[-1]}"
    if lang == "zh" and cue.endswith("的"):
        return f"{model}的"
    return model


def resolve(question: str, history: Sequence[Turn], lexicon: Lexicon) -> Resolved:
    """The standalone form of ``question`` after ``history`` (rules, no model)."""
    previous: list[Resolved] = []
    for turn in history:
        if turn.role == "user" and turn.content.strip():
            previous.append(_resolve_one(turn.content.strip(), previous, lexicon))
    return _resolve_one(question, previous, lexicon)


def _resolve_one(question: str, previous: list[Resolved], lexicon: Lexicon) -> Resolved:
    c = cues()
    lang = question_language(question)
    named = _named(question, lexicon)
    last = next((r for r in reversed(previous) if r.model), None)
    last_model = last.model if last else ""
    if named:
        name = named[0].name
        model = question[named[0].start : named[0].end]
        if last and last.name and name.families < last.name.families:
            # "Sonnet 4.5" after "Claude Sonnet 4": the same family, written short
            missing = last.name.families - name.families
            words = tuple(w for w in last.name.words if w in missing) + name.words
            name = ModelName(last.name.families, name.version, name.variants, words)
            model = name.display(lexicon)
        rest = _elliptical(question, lang, c)
        bare = rest is not None and len(re.sub(r"[\s?？!.。]", "", rest)) <= len(model) + 2
        if previous and last_model and (bare or len(question) <= len(model) + 8):
            base = previous[-1].standalone
            if last_model in base:
                return Resolved(question, base.replace(last_model, model), "swapped", model, name)
        cue = _find(question, c.pronouns.get(lang, ()), lang == "en")
        if last and last.name and cue is not None and not last.name.compatible(name):
            # "它在 HumanEval 上比 GPT-4o mini 高多少?": the pronoun is the earlier model
            standalone = (
                question[: cue.start()]
                + _possessive(last_model, cue.group(0), lang)
                + question[cue.end() :]
            )
            return Resolved(question, standalone, "inherited", last_model, last.name)
        return Resolved(question, question, "as asked", model, name)
    if not last_model:
        return Resolved(question, question, "as asked")
    latin = lang == "en"
    cue = _find(question, c.pronouns.get(lang, ()), latin)
    if cue is not None:
        standalone = (
            question[: cue.start()]
            + _possessive(last_model, cue.group(0), lang)
            + question[cue.end() :]
        )
        return Resolved(question, standalone, "inherited", last_model, last.name if last else None)
    rest = _elliptical(question, lang, c)
    topic = (rest if rest is not None else question).strip()
    if lang == "en":
        standalone = f"{topic.rstrip('?').strip()} of {last_model}?"
    elif lang == "ko":
        standalone = f"{last_model}의 {topic}"
    else:
        standalone = f"{last_model}的{topic}"
    return Resolved(question, standalone, "inherited", last_model, last.name if last else None)


def rewrite(
    question: str, history: Sequence[Turn], complete: Callable[[str, str], str]
) -> Resolved:
    """The standalone form written by a language model (``complete(system, user)``)."""
    from kb.llm.prompt import rewrite_prompt

    system, user = rewrite_prompt(question, [(t.role, t.content) for t in history])
    text = complete(system, user).strip().strip('"“”').splitlines()
    standalone = text[0].strip() if text and text[0].strip() else question
    return Resolved(question, standalone[:MAX_TURN_CHARS], "rewritten")


@dataclass(frozen=True)
class AskResult:
    """An answer to a conversation turn: the answer to the standalone question."""

    answer: Answer
    resolved: Resolved
    notice: str = ""  # e.g. the language model failed while rewriting the follow-up

    def to_dict(self) -> dict[str, object]:
        out = self.answer.to_dict()
        out["question"] = self.resolved.question
        out["standalone"] = self.resolved.standalone
        out["resolved_by"] = self.resolved.how
        if self.notice:
            notices = [self.notice] + ([str(out["notice"])] if "notice" in out else [])
            out["notice"] = "; ".join(notices)
        return out


class _Base(Protocol):
    settings: Settings

    def parts(self) -> tuple[HybridRetriever, ExtractiveAnswerer]: ...

    def llm_client(self) -> ChatClient | None: ...


def _turns(history: object) -> list[Turn]:
    if isinstance(history, list) and all(isinstance(t, Turn) for t in history):
        return list(history)
    return parse_history(history)


def prepare(
    kb: _Base, question: str, history: object, k: int | None = None
) -> tuple[Resolved, Retrieval, Answerer, str]:
    """The standalone question, its retrieval, the answerer to use, and a notice
    when the language model failed while rewriting."""
    from kb.llm.answerer import LLMAnswerer
    from kb.llm.errors import LLMError
    from kb.llm.verify import Verifier

    turns = (
        history
        if isinstance(history, list) and all(isinstance(t, Turn) for t in history)
        else parse_history(history)
    )
    retriever, extractive = kb.parts()
    client = kb.llm_client()
    notice = ""
    resolved = resolve(question, turns, extractive.lexicon)
    if client is not None and turns:
        try:
            resolved = rewrite(question, turns, client.complete)
        except LLMError as exc:
            notice = f"{exc}; the follow-up was resolved by rules"
    k = k or kb.settings.top_k
    retrieval = retriever.retrieve(resolved.standalone, answer_depth(k))
    answerer: Answerer = extractive
    if client is not None:
        answerer = LLMAnswerer(
            client,
            extractive,
            Verifier(extractive.lexicon),
            passages=k,
            unverified=kb.settings.llm_unverified,
        )
    return resolved, retrieval, answerer, notice


def ask(kb: _Base, question: str, history: object = None, k: int | None = None) -> AskResult:
    """Answer ``question`` as a turn after ``history`` (a list of {"role", "content"}
    or of Turn)."""
    resolved, retrieval, answerer, notice = prepare(kb, question, history, k)
    answer = answerer.answer(resolved.standalone, retrieval)
    return AskResult(answer, resolved, notice)
