"""The offline answerer: question analysis, candidate evidence, the fitted answer
model, and per-type extraction (``kb/qa/question.py``, ``evidence.py``,
``calibration.py``, ``extract.py``); no language model needed."""

from __future__ import annotations

import math

from kb.index.tokenize import Tokenizer
from kb.qa.answer import Answer
from kb.qa.calibration import AnswerModel
from kb.qa.cite import Citation, make_block_citation, make_citation
from kb.qa.evidence import FEATURES, Candidate, EvidenceFinder
from kb.qa.evidence_match import names_benchmark
from kb.qa.extract import Extracted, clean_item, extract
from kb.qa.extract.base import surroundings
from kb.qa.hits import Retrieval
from kb.qa.lexicon import Lexicon
from kb.qa.question import Question, analyze, as_description, as_item_count, parts
from kb.scripts import question_language


class ExtractiveAnswerer:
    def __init__(
        self, tokenizer: Tokenizer, lexicon: Lexicon, model: AnswerModel, passages: int = 5
    ) -> None:
        self.lexicon = lexicon
        self.model = model
        self.finder = EvidenceFinder(tokenizer, lexicon, passages)

    def not_found(
        self, question: str, confidence: float = 0.0, q: Question | None = None
    ) -> Answer:
        lang = q.lang if q is not None else question_language(question)
        text = self.lexicon.label("not_found", lang)
        return Answer(
            question, text, [], True, confidence, lead=text, kind=q.qtype if q else "", lang=lang
        )

    def scored(
        self, q: Question, retrieval: Retrieval
    ) -> tuple[list[tuple[float, Candidate]], float]:
        """Every candidate with its share of the ranker's softmax, best first, and
        the confidence that answering from the best is right."""
        candidates = self.finder.candidates(q, retrieval)
        if not candidates:
            return [], 0.0
        scores = self.model.rank([c.features for c in candidates])
        top = max(scores)
        weights = [math.exp(s - top) for s in scores]
        total = sum(weights)
        out = sorted(
            ((w / total, c) for w, c in zip(weights, candidates, strict=True)),
            key=lambda pc: -pc[0],
        )
        return out, self.model.confidence(out[0][1].features, scores)

    def answer(self, question: str, retrieval: Retrieval) -> Answer:
        q = analyze(question, self.lexicon)
        if several := parts(q, self.lexicon):
            return self._answer_parts(q, several, retrieval)
        scored, confidence = self.scored(q, retrieval)
        if not scored and (items := as_item_count(q, self.lexicon)) is not None:
            q = items  # "how many benchmarks …?" that no sentence counts: its list, counted
            scored, confidence = self.scored(q, retrieval)
        if not scored and (described := as_description(q, self.lexicon)) is not None:
            q = described  # "MMLU 表现如何?" with no score stated: what the article says
            scored, confidence = self.scored(q, retrieval)
            scored = [(p, c) for p, c in scored if names_benchmark(surroundings(c), q.benchmarks)]
        if not scored or confidence < self.model.threshold:
            return self.not_found(question, confidence, q)
        extracted = extract(q, scored, self.lexicon)
        if extracted is None:  # the type's answer is not in the evidence: no confidence in any
            return self.not_found(question, 0.0, q)
        return self.compose(q, extracted, confidence)

    def _answer_parts(
        self, q: Question, several: tuple[Question, ...], retrieval: Retrieval
    ) -> Answer:
        """A question asking for several kinds of figure: each part answered on its
        own, the lead lines joined and every part's evidence cited; the parts the
        evidence lacks are left out, and none found is "not found"."""
        found: list[tuple[Extracted, float]] = []
        for part in several:
            scored, confidence = self.scored(part, retrieval)
            if scored and confidence >= self.model.threshold:
                ex = extract(part, scored, self.lexicon)
                if ex is not None:
                    found.append((ex, confidence))
        if not found:
            return self.not_found(q.text, 0.0, q)
        joined = Extracted(
            "; ".join(ex.lead for ex, _ in found),
            [c for ex, _ in found for c in ex.evidence[: len(ex.evidence) - ex.also]],
        )
        return self.compose(q, joined, min(c for _, c in found))

    def compose(self, q: Question, ex: Extracted, confidence: float) -> Answer:
        citations: list[Citation] = []
        numbers: list[int] = []
        for i, c in enumerate(ex.evidence):
            key = (c.chunk_id, c.sentence.start, c.sentence.end)
            n = next(
                (
                    cit.n
                    for cit in citations
                    if (cit.chunk_id, cit.quote_start, cit.quote_end) == key
                ),
                0,
            )
            if not n:
                n = len(citations) + 1
                listed = i == 0 or (bool(ex.also_items) and i == len(ex.evidence) - 1)
                if listed and ex.whole_block and c.block is not None:
                    cit = make_block_citation(n, c.hit.chunk, c.block)
                else:
                    cit = make_citation(n, c.hit.chunk, c.sentence)
                citations.append(cit)
            numbers.append(n)
        main = len(numbers) - ex.also
        markers = " ".join(f"[{n}]" for n in dict.fromkeys(numbers[:main]))
        lines = [f"{ex.lead} {markers}"]
        quotes: list[str] = []
        if ex.whole_block and ex.evidence[0].block is not None:
            block = ex.evidence[0].block
            if block.lead is not None:
                quotes.append(block.lead.text)
                lines.append(f"“{block.lead.text}”")
            lines.extend(f"- {item} [{numbers[0]}]" for item in ex.items)
            runner = ex.evidence[-1].block if ex.also_items else None
            if runner is not None:  # a runner-up list the ranker scores nearly as high
                if runner.lead is not None:
                    quotes.append(runner.lead.text)
                    lines.append(f"“{runner.lead.text}” [{numbers[-1]}]")
                lines.extend(f"- {item} [{numbers[-1]}]" for item in ex.also_items)
            elif ex.also:  # a runner-up sentence from outside the list
                text = clean_item(ex.evidence[-1].sentence.text)
                quotes.append(text)
                lines.append(f"“{text}” [{numbers[-1]}]")
        else:
            # evidence the lead line already says is not quoted again under it
            said = main if ex.quote_in_lead else 0
            quotes.extend(dict.fromkeys(clean_item(c.sentence.text) for c in ex.evidence[:said]))
            for c, n in zip(ex.evidence[said:], numbers[said:], strict=True):
                text = clean_item(c.sentence.text)
                if text not in quotes:
                    quotes.append(text)
                    lines.append(f"“{text}” [{n}]")
        return Answer(
            question=q.text,
            text="\n".join(lines),
            citations=citations,
            abstained=False,
            confidence=confidence,
            lead=f"{ex.lead} {markers}",
            kind=q.qtype,
            lang=q.lang,
            quotes=quotes,
        )


__all__ = ["FEATURES", "ExtractiveAnswerer"]
