"""``LLMAnswerer``: the ``Answerer`` protocol over a chat model, with every generated
sentence verified against the passages sent (``verify.py``); unverified sentences
are dropped or marked (``unverified`` = drop | mark); when nothing verified remains,
or the server fails, the extractive answer is returned and says so."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, fields

from kb.ingest.document import Chunk
from kb.llm.clients import ChatClient
from kb.llm.errors import LLMError
from kb.llm.prompt import answer_prompt
from kb.llm.verify import CheckedSentence, Verification, Verifier
from kb.qa.answer import Answer, Answerer
from kb.qa.cite import Citation, make_citation
from kb.qa.hits import Retrieval
from kb.scripts import question_language

log = logging.getLogger(__name__)
POLICIES = ("drop", "mark")
UNVERIFIED_MARK = "(unverified)"
_MARKER = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class GeneratedAnswer(Answer):
    """An answer written by a language model: what it generated, and per sentence
    whether it was verified. ``notice`` says when kb fell back to the extractive
    answer, and why."""

    generated: str = ""
    sentences: list[CheckedSentence] = field(default_factory=list)
    notice: str = ""
    model: str = ""

    def to_dict(self) -> dict[str, object]:
        out = super().to_dict()
        out["generated"] = {
            "model": self.model,
            "text": self.generated,
            "sentences": [s.to_dict() for s in self.sentences],
            "kept": sum(1 for s in self.sentences if s.verified),
        }
        if self.notice:
            out["notice"] = self.notice
        return out


def with_notice(
    answer: Answer,
    notice: str,
    generated: str = "",
    sentences: list[CheckedSentence] | None = None,
    model: str = "",
) -> GeneratedAnswer:
    """``answer`` (the extractive one) carrying why it replaced a generated answer."""
    # every field of the extractive answer, so one added to Answer is never dropped here
    return GeneratedAnswer(
        **{f.name: getattr(answer, f.name) for f in fields(Answer)},
        generated=generated,
        sentences=sentences or [],
        notice=notice,
        model=model,
    )


class LLMAnswerer:
    def __init__(
        self,
        client: ChatClient,
        fallback: Answerer,
        verifier: Verifier,
        passages: int = 5,
        unverified: str = "drop",
    ) -> None:
        if unverified not in POLICIES:
            raise ValueError(f"unverified must be one of {POLICIES}, got {unverified!r}")
        self.client = client
        self.fallback = fallback
        self.verifier = verifier
        self.passages = passages
        self.unverified = unverified

    def prompt(self, question: str, retrieval: Retrieval) -> tuple[list[Chunk], str, str]:
        chunks = [h.chunk for h in retrieval.hits[: self.passages]]
        system, user = answer_prompt(question, chunks, question_language(question))
        return chunks, system, user

    def answer(self, question: str, retrieval: Retrieval) -> Answer:
        chunks, system, user = self.prompt(question, retrieval)
        try:
            text = self.client.complete(system, user)
        except LLMError as exc:
            return self.failed(question, retrieval, exc)
        return self.finish(question, retrieval, chunks, text)

    def stream(self, question: str, retrieval: Retrieval) -> Iterator[str | Answer]:
        """The generated text piece by piece as it arrives, then the verified Answer."""
        chunks, system, user = self.prompt(question, retrieval)
        parts: list[str] = []
        try:
            for piece in self.client.stream(system, user):
                parts.append(piece)
                yield piece
        except LLMError as exc:
            yield self.failed(question, retrieval, exc)
            return
        yield self.finish(question, retrieval, chunks, "".join(parts))

    def failed(self, question: str, retrieval: Retrieval, exc: LLMError) -> Answer:
        log.info("%s; answering extractively", exc)
        return with_notice(
            self.fallback.answer(question, retrieval),
            f"{exc}; answered extractively",
            model=self.client.config.model,
        )

    def finish(self, question: str, retrieval: Retrieval, chunks: list[Chunk], text: str) -> Answer:
        checked = self.verifier.verify(text, chunks)
        model = self.client.config.model
        lang = question_language(question)
        if checked.not_found:
            line = " ".join(s.text for s in checked.sentences)
            return GeneratedAnswer(
                question,
                line,
                [],
                True,
                0.0,
                lead=line,
                kind="generated",
                lang=lang,
                generated=text,
                sentences=checked.sentences,
                model=model,
            )
        if not checked.kept:
            reason = "no generated sentence could be verified against the passages"
            return with_notice(
                self.fallback.answer(question, retrieval),
                f"{reason}; answered extractively",
                generated=text,
                sentences=checked.sentences,
                model=model,
            )
        return self.compose(question, lang, chunks, text, checked)

    def compose(
        self, question: str, lang: str, chunks: list[Chunk], text: str, checked: Verification
    ) -> Answer:
        citations: dict[int, Citation] = {}
        lines: list[str] = []
        for s in checked.sentences:
            if s.verified:
                for n, i in s.support:
                    if n not in citations:
                        chunk = chunks[n - 1]
                        citations[n] = make_citation(n, chunk, chunk.sentences[i])
                lines.append(_keep_markers(s.text, {n for n, _ in s.support}))
            elif self.unverified == "mark" and not s.not_found:
                bare = re.sub(r"\s+([.。!?！？])", r"\1", _MARKER.sub("", s.text)).strip()
                lines.append(f"{bare.rstrip('.。!?！？')} {UNVERIFIED_MARK}.")
        body = " ".join(lines)
        return GeneratedAnswer(
            question=question,
            text=body,
            citations=[citations[n] for n in sorted(citations)],
            abstained=False,
            confidence=sum(s.verified for s in checked.sentences) / len(checked.sentences),
            lead=body,
            kind="generated",
            lang=lang,
            quotes=[citations[n].quote for n in sorted(citations)],
            generated=text,
            sentences=checked.sentences,
            model=self.client.config.model,
        )


def _keep_markers(text: str, keep: set[int]) -> str:
    """``text`` without the [n] markers not in ``keep`` (citations nothing supports)."""
    out = _MARKER.sub(lambda m: m.group(0) if int(m.group(1)) in keep else "", text)
    return re.sub(r"\s{2,}", " ", out).strip()
