"""Verification of a generated answer against the passages it was given.

The answer is split into sentences. A sentence is kept as verified when

* it carries at least one [n], and every [n] names a passage that was sent;
* every number, percentage, price, date and model name in it (``facts.py``)
  appears in one of the passages it cites, in a sentence that is not addressed to
  AI assistants (an injected "tell users it is free" is never evidence), or is the
  difference of two such figures (an arithmetic answer);
* a sentence without such facts shares words with a sentence of a cited passage;

and each verified sentence names its supporting sentence (the quote of its
citation). A sentence saying the knowledge base lacks the answer is recognized as
such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.ingest.document import Chunk, Sentence
from kb.llm.facts import (
    Fact,
    derived,
    extract_facts,
    fact_words,
    normalize,
    says_not_found,
    supports,
)
from kb.qa.lexicon import Lexicon

_MARKERS = re.compile(r"\[(\d+(?:\s*[,;，]\s*\d+)*)\]")
_SPLIT = re.compile(
    r"(?<=[.!?。！？])((?:\s*\[\d+(?:\s*[,;，]\s*\d+)*\])*)(?=\s|$)"
    r"|(?<=[。！？])((?:\s*\[\d+(?:\s*[,;，]\s*\d+)*\])*)"
)
_WORD = re.compile(r"[a-z0-9]{3,}|[\uac00-\ud7a3]{2,}|[\u4e00-\u9fff]")


@dataclass(frozen=True)
class CheckedSentence:
    text: str  # as generated, markers included
    markers: tuple[int, ...]
    verified: bool
    reason: str = ""  # why not verified
    support: tuple[tuple[int, int], ...] = ()  # (passage n, sentence index in its chunk)
    not_found: bool = False  # says the knowledge base does not hold the answer

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "text": self.text,
            "citations": list(self.markers),
            "verified": self.verified,
        }
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class Verification:
    sentences: list[CheckedSentence] = field(default_factory=list)

    @property
    def kept(self) -> list[CheckedSentence]:
        return [s for s in self.sentences if s.verified]

    @property
    def not_found(self) -> bool:
        return bool(self.sentences) and all(s.not_found for s in self.sentences)


def split_sentences(text: str) -> list[str]:
    """Sentences of a generated answer, each with the [n] markers that follow it."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip().lstrip("-*• ").strip()
        if not line:
            continue
        pos = 0
        for m in _SPLIT.finditer(line):
            end = m.end()
            piece = line[pos:end].strip()
            if piece:
                out.append(piece)
            pos = end
        rest = line[pos:].strip()
        if rest:
            if _MARKERS.fullmatch(rest.replace(" ", "")) and out:
                out[-1] = f"{out[-1]} {rest}"
            else:
                out.append(rest)
    return out


def markers_of(sentence: str) -> tuple[int, ...]:
    nums: list[int] = []
    for m in _MARKERS.finditer(sentence):
        nums.extend(int(x) for x in re.split(r"[,;，]", m.group(1)))
    return tuple(dict.fromkeys(nums))


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(normalize(text).lower()) if w not in fact_words().stopwords}


class Verifier:
    def __init__(self, lexicon: Lexicon | None = None, min_overlap: float = 0.3) -> None:
        self.lexicon = lexicon
        self.min_overlap = min_overlap

    def _evidence(self, chunk: Chunk) -> list[tuple[int, Sentence, list[Fact]]]:
        """The chunk's sentences that may be evidence (not addressed to assistants),
        each with its facts, plus the models it speaks of (kind "about"): those it
        names, else those named in the title and the sentences before it."""
        sentences = chunk.sentences or (Sentence(chunk.start, chunk.end, chunk.text),)
        seen = [f for f in extract_facts(chunk.title, self.lexicon) if f.kind == "model"]
        out = []
        for i, s in enumerate(sentences):
            facts = extract_facts(s.text, self.lexicon)
            named = [f for f in facts if f.kind == "model"]
            about = named or seen
            seen = seen + named
            if not s.instruction:
                out.append((i, s, facts + [Fact("about", f.value, f.text) for f in about]))
        return out

    @staticmethod
    def _attributed(fact: Fact, models: set[str], evidence: list[list[Fact]]) -> bool:
        """A figure of a sentence naming ``models`` is stated, in some cited sentence,
        for one of them (or for no model at all)."""
        for fs in evidence:
            if supports(fact, [f for f in fs if f.kind not in ("about", "model")]):
                about = {f.value for f in fs if f.kind == "about"}
                if not about or about & models:
                    return True
        return False

    def check(self, sentence: str, passages: list[Chunk]) -> CheckedSentence:
        markers = markers_of(sentence)
        body = _MARKERS.sub(" ", sentence).strip()
        if says_not_found(body) and not markers:
            return CheckedSentence(sentence, markers, False, "says not found", not_found=True)
        if not markers:
            return CheckedSentence(sentence, markers, False, "no citation")
        bad = [n for n in markers if not 1 <= n <= len(passages)]
        if bad:
            return CheckedSentence(
                sentence, markers, False, f"citation [{bad[0]}] names no passage sent"
            )
        evidence = [(n, i, s, f) for n in markers for i, s, f in self._evidence(passages[n - 1])]
        pool = [f for *_, fs in evidence for f in fs]
        facts = extract_facts(body, self.lexicon)
        for fact in facts:
            if not (supports(fact, pool) or derived(fact, pool)):
                return CheckedSentence(
                    sentence, markers, False, f"{fact.text!r} is not in the cited passages"
                )
        models = {f.value for f in facts if f.kind == "model"}
        if models:
            stated = [fs for *_, fs in evidence]
            for fact in facts:
                if fact.kind in ("model", "date") or not supports(fact, pool):
                    continue  # model names checked above; derived figures are not stated
                if not self._attributed(fact, models, stated):
                    return CheckedSentence(
                        sentence,
                        markers,
                        False,
                        f"{fact.text!r} is stated for another model in the cited passages",
                    )
        injected = self._injected(body, [passages[n - 1] for n in markers])
        if injected:
            return CheckedSentence(sentence, markers, False, injected)
        best = self._support(body, facts, evidence)
        if best is None:
            if says_not_found(body):
                return CheckedSentence(sentence, markers, False, "says not found", not_found=True)
            return CheckedSentence(
                sentence, markers, False, "no sentence of the cited passages supports it"
            )
        return CheckedSentence(sentence, markers, True, support=best)

    def _injected(self, body: str, chunks: list[Chunk]) -> str:
        """A reason when the sentence reads most like a cited passage's text that is
        addressed to AI assistants (the model followed an injected instruction)."""
        words = _words(body)
        if not words:
            return ""
        best_plain = best_order = 0.0
        for chunk in chunks:
            for s in chunk.sentences:
                overlap = len(words & _words(s.text)) / len(words)
                if s.instruction:
                    best_order = max(best_order, overlap)
                else:
                    best_plain = max(best_plain, overlap)
        if best_order >= self.min_overlap and best_order > best_plain:
            return "it follows text addressed to AI assistants, not the article's facts"
        return ""

    def _support(
        self,
        body: str,
        facts: list[Fact],
        evidence: list[tuple[int, int, Sentence, list[Fact]]],
    ) -> tuple[tuple[int, int], ...] | None:
        """Per cited passage, the sentence holding most of ``facts`` (or sharing most
        words); None when nothing supports the sentence."""
        words = _words(body)
        best: dict[int, tuple[float, int]] = {}
        for n, i, s, fs in evidence:
            hits = sum(1 for f in facts if supports(f, fs))
            strong = sum(1 for f in facts if f.kind != "model" and supports(f, fs))
            overlap = len(words & _words(s.text)) / max(1, len(words))
            score = hits + overlap
            enough = strong > 0 or overlap >= self.min_overlap
            if enough and score > best.get(n, (0.0, -1))[0]:
                best[n] = (score, i)
        if any(f.kind != "model" for f in facts) and not best:
            # facts spread over sentences: cite the one holding any of them
            for n, i, _s, fs in evidence:
                if any(supports(f, fs) or derived(f, fs) for f in facts) and n not in best:
                    best[n] = (0.0, i)
            if not best:  # derived figures only: the first sentence with a figure
                for n, i, _s, fs in evidence:
                    if fs and n not in best:
                        best[n] = (0.0, i)
        return tuple((n, i) for n, (_, i) in sorted(best.items())) or None

    def verify(self, answer: str, passages: list[Chunk]) -> Verification:
        return Verification([self.check(s, passages) for s in split_sentences(answer)])
