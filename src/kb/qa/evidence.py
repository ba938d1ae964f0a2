"""Candidate evidence: every sentence of the top passages that may answer a question,
with the features the answer model scores it by.

A sentence is a candidate only if

* its article mentions every name the question uses (with its version; other
  capitalized words too when some article at hand uses them as names), and
* for a question asking for a figure, it holds a figure of that kind stated for the
  model the question names (a sibling's figure in the same sentence or table row
  does not count), and it names the benchmark the question names (in the sentence,
  its table row, its list's lead-in or its section);
* for a question about a property that is no figure kind (lexicon "attributes":
  context window, parameters, training data, ...), it (or its lead-in or section)
  uses one of the property's terms;
* for a yes/no, open or list question naming a model, it is about that model (the
  sentence's subject or, when it names none, the text around it);
* it is not an instruction to a reader or an assistant (flagged at indexing).

Features (all in [0, 1] or small ranges, see ``FEATURES``) feed the logistic answer
model (``kb/qa/calibration.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.index.tokenize import Tokenizer
from kb.ingest.document import Block, Sentence
from kb.qa.evidence_match import (
    SENTENCE_END,
    at_place,
    blank_for,
    clause_at,
    context_subject,
    corpus_names,
    fits,
    names_benchmark,
    passages_read,
    question_names,
    squash,
    states_nothing,
    topic_bigrams,
    topic_terms,
)
from kb.qa.figures import Figure, figures_in, stated_subject
from kb.qa.glossary import expand
from kb.qa.hits import Hit, Retrieval
from kb.qa.lexicon import Lexicon
from kb.qa.mentions import ModelName, find_mentions
from kb.qa.question import Question

FEATURES = (
    "cosine",  # e5 cosine of question and sentence, centered per document language
    "cosine_gap",  # how far below the best candidate's cosine
    "second",  # the second encoder's cosine (trained on translations: cross-lingual)
    "second_gap",  # how far below the best candidate's
    "topic_second",  # the second encoder's cosine of the question without its model names
    "topic_second_gap",  # how far below the best candidate's
    "block",  # best e5 cosine over the sentence's list or table (lead-in and items)
    "topic",  # share of the question's words (without names and figures) in the sentence
    "passage",  # the passage's fused retrieval score relative to the best passage
    "first_passage",  # 1 for the top passage
    "overlap",  # share of the question's tokens (glossary-expanded) in the sentence
    "names",  # share of the question's name tokens in the sentence
    "subject",  # 1 the sentence is about the model asked, 0 about another, 0.5 none asked
    "benchmark",  # 1 the benchmark asked is named, 0.5 none asked
    "figure",  # 1 holds the figure asked for, 0.5 no figure asked
    "structured",  # 1 a list lead-in or item
    "row",  # 1 a table row
    "list_for_list",  # 1 a list lead-in or item, for a question asking for a list
    "short",  # 1 for a fragment (fewer than 8 word characters)
    "title",  # 1 a line without a sentence end that is no list item or row (a caption)
)
# question types whose answer is a statement about the model the question names: a
# sentence about another model (or in another model's article, under no model of
# its own) is no evidence; figures have their own rule (a figure's owner)
_ABOUT_THE_MODEL = ("yesno", "open", "list")
_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class Candidate:
    hit: Hit
    position: int  # index in hit.chunk.sentences
    sentence: Sentence
    block: Block | None
    subject: ModelName | None  # the model the sentence is about
    context: ModelName | None  # the model the text around it is about (lead-in, section, article)
    figures: tuple[Figure, ...]  # figures of the kind asked, any owner
    owned: tuple[Figure, ...]  # those stated for the model asked (all when none asked)
    features: dict[str, float]

    @property
    def chunk_id(self) -> str:
        return self.hit.chunk.chunk_id


class EvidenceFinder:
    """Builds the candidates for a question from a Retrieval."""

    def __init__(self, tokenizer: Tokenizer, lexicon: Lexicon, passages: int = 5) -> None:
        self.tokenizer = tokenizer
        self.lexicon = lexicon
        self.passages = passages

    def candidates(self, q: Question, retrieval: Retrieval) -> list[Candidate]:
        required, model_names = question_names(q, self.tokenizer, self.lexicon)
        groups = corpus_names(q, retrieval.doc_names.values(), self.lexicon)
        read = passages_read(retrieval, self.passages, required, model_names, groups)
        if not read:
            return []
        hits = at_place(retrieval, read, q.place, self.passages)
        names = required.union(*model_names)
        q_tokens = set(self.tokenizer(q.text)) | {
            t for w in expand(q.text, self.lexicon.glossary) for t in self.tokenizer(w)
        }
        name_tokens = {t for t in names if "_" not in t}
        asked = " ".join([q.text, *expand(q.text, self.lexicon.glossary)])
        topic = topic_bigrams(asked, self.lexicon)
        # what a count question counts, to match a count's clause against
        counted = (
            topic_terms(asked, self.lexicon) if q.figure and q.figure.kind == "count" else set()
        )
        best_passage = max(h.score for h in retrieval.hits) or 1.0

        def read_from(passages: list[Hit]) -> list[Candidate]:
            found: list[Candidate] = []
            for h in passages:
                doc_subject = retrieval.doc_subjects.get(h.chunk.doc_id)
                offset = retrieval.language_offsets.get(h.chunk.lang, 0.0)
                for pos, sentence in enumerate(h.chunk.sentences):
                    if getattr(sentence, "instruction", False):
                        continue  # an instruction to the reader is never evidence
                    if states_nothing(h, sentence, self.lexicon):
                        continue
                    block = h.chunk.blocks[sentence.block] if sentence.block >= 0 else None
                    cand = self._candidate(
                        q,
                        h,
                        pos,
                        sentence,
                        block,
                        doc_subject,
                        offset,
                        best_passage,
                        q_tokens,
                        name_tokens,
                        topic,
                        counted,
                        groups,
                    )
                    if cand is not None:
                        found.append(cand)
            return found

        # the part of the article pointed at first; all passages read if it holds none
        out = (read_from(hits) if hits is not read else []) or read_from(read)
        for feature in ("cosine", "second", "topic_second"):
            present = [c for c in out if feature in c.features]
            if present:
                top = max(c.features[feature] for c in present)
                for c in present:
                    c.features[feature + "_gap"] = top - c.features[feature]
        return out

    def _about(
        self,
        subject: ModelName | None,
        context: ModelName | None,
        hit: Hit,
        block: Block | None,
        q: Question,
    ) -> bool:
        """The sentence, the text around it (when it names no model of its own) or
        a model its section heading or list lead-in names ("클로드 3.7 소네트 및
        클로드 4 시리즈의 등장") is one the question names; or no model at all."""
        if subject is None and context is None:
            return True
        if fits(subject, q.models) or fits(context, q.models):
            return True
        texts = [hit.chunk.section]
        if block is not None and block.lead is not None:
            texts.append(block.lead.text)
        return any(
            fits(m.name.resolve(context), q.models)
            for text in texts
            for m in find_mentions(text, self.lexicon)
        )

    def _candidate(
        self,
        q: Question,
        hit: Hit,
        pos: int,
        sentence: Sentence,
        block: Block | None,
        doc_subject: ModelName | None,
        offset: float,
        best_passage: float,
        q_tokens: set[str],
        name_tokens: set[str],
        topic: set[str],
        counted: set[str],
        names: list[frozenset[str]],
    ) -> Candidate | None:
        lex = self.lexicon
        context = context_subject(hit, block, doc_subject, lex)
        text = sentence.text
        mentions = [m.name.resolve(context) for m in find_mentions(text, lex)]
        subject = stated_subject(text, len(text), find_mentions(text, lex), lex)
        subject = subject.resolve(context) if subject is not None else context
        if (
            q.models
            and q.qtype in _ABOUT_THE_MODEL
            and not self._about(subject, context, hit, block, q)
        ):
            return None  # "does Claude 3.5 Sonnet run on Vertex AI": not Claude 3.5 Haiku's list
        figures: tuple[Figure, ...] = ()
        owned: tuple[Figure, ...] = ()
        if q.figure is not None:
            figures = tuple(
                f
                for f in figures_in(sentence, q.figure, lex, context, block)
                if not q.figure.of_another_event(text, f.end, q.text)
            )
            if q.models:
                relational = q.figure.kind == "multiplier"
                owned = tuple(
                    f
                    for f in figures
                    if fits(f.owner, q.models)
                    or (
                        relational
                        and (fits(subject, q.models) or any(fits(m, q.models) for m in mentions))
                    )
                )
            else:
                owned = figures
            asked_column = tuple(
                f for f in figures if f.column and squash(f.column) in squash(q.text)
            )
            if asked_column:  # "이전 세대 모델 점수": the column the question names
                owned = asked_column
        where = " ".join(
            [text, block.lead.text if block is not None and block.lead else "", hit.chunk.section]
        )
        if q.qtype == "figure" and names:
            where_tokens = set(self.tokenizer(where))  # aliases applied: 앤트로픽 is anthropic
            if not all(group & where_tokens for group in names):
                return None  # "Sonnet 4's math score with Python tools": not its OSWorld score
        if q.qtype == "figure" and q.figure is None and not any(ch.isdigit() for ch in text):
            return None  # a figure is asked for ("최대 해상도는?"): a sentence without one is none
        if q.models and blank_for(sentence, block, q.models, lex):
            return None  # the asked model's cell of this row is "-"
        if q.attributes and not all(
            a.stated_in(where) for a in lex.attributes if a.name in q.attributes
        ):
            return None  # "context window": only a sentence that speaks of one answers
        if (
            q.qtype in ("figure", "arithmetic")
            and q.figure is not None
            and q.figure.kind != "multiplier"  # a ratio may be computed from other figures
            and not owned
        ):
            return None
        if (
            q.qtype in ("figure", "arithmetic", "comparison")
            and q.figure is not None
            and q.benchmarks
            and not names_benchmark(where, q.benchmarks)
        ):
            return None
        if q.figure is not None and q.figure.kind == "count" and owned:
            # a count answers only when its clause is about what the question counts
            owned = tuple(
                f for f in owned if counted & topic_terms(clause_at(text, f.start, f.end), lex)
            )
            if q.qtype in ("figure", "arithmetic") and not owned:
                return None
        tokens = set(self.tokenizer(text))
        raw_cos = hit.sentence_scores[pos] if pos < len(hit.sentence_scores) else 0.0
        block_cos = raw_cos
        if block is not None:
            spans = {(s.start, s.end) for s in [block.lead, block.header, *block.items] if s}
            block_cos = max(
                [raw_cos]
                + [
                    sc
                    for s, sc in zip(hit.chunk.sentences, hit.sentence_scores, strict=False)
                    if (s.start, s.end) in spans
                ]
            )
        sentence_topic = topic_bigrams(text, lex)
        features = {
            "cosine": raw_cos - offset,
            "cosine_gap": 0.0,
            "block": block_cos - offset,
            "topic": len(topic & sentence_topic) / len(topic) if topic else 0.0,
            "passage": hit.score / best_passage,
            "first_passage": 1.0 if hit.rank == 1 else 0.0,
            "overlap": len(q_tokens & tokens) / len(q_tokens) if q_tokens else 0.0,
            "names": len(name_tokens & tokens) / len(name_tokens) if name_tokens else 0.5,
            "subject": (0.5 if not q.models else 1.0 if fits(subject, q.models) else 0.0),
            "benchmark": (
                0.5 if not q.benchmarks else 1.0 if names_benchmark(where, q.benchmarks) else 0.0
            ),
            "figure": 0.5 if q.figure is None else 1.0 if owned else 0.0,
            "structured": 1.0 if sentence.role in ("lead", "item") else 0.0,
            "row": 1.0 if sentence.role == "row" else 0.0,
            "list_for_list": 1.0
            if q.qtype == "list" and sentence.role in ("lead", "item")
            else 0.0,
            "short": 0.0
            if sentence.role == "lead" and block is not None and block.items
            else 1.0
            if len(_WORD.findall(text)) < 8
            else 0.0,
            "title": 0.0 if sentence.role in ("item", "row") or SENTENCE_END.search(text) else 1.0,
        }
        if pos < len(hit.second_scores):
            features["second"] = hit.second_scores[pos]
            features["second_gap"] = 0.0
        if pos < len(hit.topic_scores):
            features["topic_second"] = hit.topic_scores[pos]
            features["topic_second_gap"] = 0.0
        return Candidate(hit, pos, sentence, block, subject, context, figures, owned, features)
