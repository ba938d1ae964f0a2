"""Retrieval over a loaded index: dense (chunks and sentences), lexical (BM25), hybrid.

``HybridRetriever.retrieve`` scores every chunk with up to five signals:

* ``dense``: cosine of the query and the chunk (title + section + text);
* ``sentence``: best cosine of the query and any sentence of the chunk, so a
  one-line fact is not diluted by the rest of its passage;
* ``lexical``: BM25 over CJK bigrams, Korean morphemes and Latin words, the
  query expanded with the glossary's other-language words;
* ``entity``: article-level BM25 over names and numbers (which article is
  *about* the model the question names);
* ``second``: best sentence cosine under the second encoder, when the index
  was built with one.

e5 scores are centered per document language (the model otherwise prefers
passages in the query's own language); every signal is scaled to [0, 1] and
the signals are fused by weights.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from kb.index.embed import Embedder
from kb.index.lexical import BM25Index, BM25Params
from kb.index.store import KnowledgeIndex
from kb.ingest.document import Chunk
from kb.qa.fuse import center_by_group, max_by_group, max_scale, minmax, weighted_sum
from kb.qa.glossary import expand
from kb.qa.lexicon import Lexicon, load_lexicon
from kb.qa.mentions import ModelName, subject_of

MODES = ("hybrid", "dense", "lexical")
EXPANSION_WEIGHT = 0.4
SIGNALS = ("dense", "sentence", "lexical", "entity", "second")
ENTITY_BM25 = BM25Params(k1=1.2, b=0.75)  # article-level: a name's repeats count longer
_ENTITY_TOKEN = re.compile(r"^[a-z0-9][a-z0-9._]*$")


def entity_tokens(tokens: list[str]) -> list[str]:
    """Latin words, numbers and their joined bigrams: model and benchmark names,
    versions and figures, which read the same in every language's articles."""
    return [t for t in tokens if _ENTITY_TOKEN.match(t)]


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    rank: int
    row: int  # the chunk's position in the index (its vector and sentence rows)
    scores: dict[str, float] = field(default_factory=dict)  # per-signal, normalized
    # raw e5 cosine of the query and each of ``chunk.sentences`` (empty: lexical mode)
    sentence_scores: tuple[float, ...] = ()
    # the same under the second encoder (empty: none)
    second_scores: tuple[float, ...] = ()


@dataclass(frozen=True)
class Retrieval:
    """Hits plus what the answer stage reads besides them: the query vector, the
    per-language offset of sentence cosines (e5 scores passages in the question's
    own language higher), and the names and numbers each hit's article mentions."""

    query: str
    hits: list[Hit]
    query_vector: np.ndarray | None
    query_tokens: list[str]
    # document language -> mean sentence cosine of its sentences minus the overall mean
    language_offsets: dict[str, float] = field(default_factory=dict)
    # document id -> entity tokens (names, numbers, name_version pairs) of the article
    doc_names: dict[str, frozenset[str]] = field(default_factory=dict)
    # document id -> the model the article is about (its most often named one)
    doc_subjects: dict[str, ModelName | None] = field(default_factory=dict)


class HybridRetriever:
    def __init__(
        self,
        index: KnowledgeIndex,
        embedder: Embedder | None,
        weights: Mapping[str, float],
        mode: str = "hybrid",
        center_languages: bool = True,
        expand_query: bool = True,
        second: Embedder | None = None,
        lexicon: Lexicon | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
        if mode != "lexical" and embedder is None:
            raise ValueError(f"mode {mode!r} needs an embedder")
        self.index = index
        self.embedder = embedder
        self.mode = mode
        self.center_languages = center_languages
        self.expand_query = expand_query
        # the second encoder takes part only when the index holds its vectors
        self.second = second if index.second_vectors is not None else None
        w = dict(weights)  # the caller's (Settings.weights for the app)
        if mode == "dense":  # the two embedding signals only
            w = {"dense": w.get("dense") or 0.5, "sentence": w.get("sentence") or 0.5}
        elif mode == "lexical":
            w = {"lexical": 1.0}
        if self.second is None:
            w.pop("second", None)
        kept = {k: v for k, v in w.items() if k in SIGNALS}
        total = sum(kept.values()) or 1.0
        self.weights = {k: v / total for k, v in kept.items()}  # fused scores stay in [0, 1]
        n_sent = np.bincount(index.sentence_chunk, minlength=len(index.chunks))
        self.sentence_start = np.concatenate([[0], np.cumsum(n_sent)]).astype(np.int64)
        self._entity_bm25: BM25Index | None = None
        self._chunk_doc = np.zeros(len(index.chunks), dtype=np.int64)
        self._doc_vocab: dict[str, frozenset[str]] = {}
        self.lexicon = lexicon or load_lexicon()
        self._subjects: dict[str, ModelName | None] = {}
        self._doc_chunks: dict[str, list[int]] | None = None
        index.tokenizer.warm()

    def doc_subject(self, doc_id: str) -> ModelName | None:
        """The model an article is about (computed once per article)."""
        if doc_id not in self._subjects:
            if self._doc_chunks is None:
                self._doc_chunks = {}
                for i, c in enumerate(self.index.chunks):
                    self._doc_chunks.setdefault(c.doc_id, []).append(i)
            rows = self._doc_chunks.get(doc_id, [])
            texts = [self.index.chunks[rows[0]].title] if rows else []
            texts += [self.index.chunks[i].text for i in rows]
            self._subjects[doc_id] = subject_of(texts, self.lexicon)
        return self._subjects[doc_id]

    def _entity_index(self) -> BM25Index:
        """Document-level BM25 over entity tokens (built lazily from the chunks).

        Says which article is *about* the model a question names ("하이쿠 4.5"
        -> the Haiku 4.5 article, not the Claude 3.5 Haiku one), whatever the
        languages of question and article.
        """
        if self._entity_bm25 is None:
            doc_rows: dict[str, int] = {}
            tokens: list[list[str]] = []
            seen_titles: set[str] = set()
            for i, c in enumerate(self.index.chunks):
                row = doc_rows.setdefault(c.doc_id, len(doc_rows))
                if row == len(tokens):
                    tokens.append([])
                self._chunk_doc[i] = row
                if c.doc_id not in seen_titles:
                    seen_titles.add(c.doc_id)
                    tokens[row].extend(entity_tokens(self.index.tokenizer(c.title)) * 3)
                tokens[row].extend(entity_tokens(self.index.tokenizer(c.text)))
            for doc_id, row in doc_rows.items():
                self._doc_vocab[doc_id] = frozenset(tokens[row])
            self._entity_bm25 = BM25Index.build(tokens, ENTITY_BM25)
        return self._entity_bm25

    def doc_vocabulary(self, doc_id: str) -> frozenset[str]:
        """Entity tokens (names, numbers, their pairs) the article mentions."""
        self._entity_index()
        return self._doc_vocab.get(doc_id, frozenset())

    def search(self, query: str, k: int) -> list[Hit]:
        return self.retrieve(query, k).hits

    def _lexical(self, query: str) -> tuple[np.ndarray, list[str]]:
        tok = self.index.tokenizer
        tokens = tok(query)
        weights = [1.0] * len(tokens)
        if self.expand_query:
            for word in expand(query, self.lexicon.glossary):
                extra = tok(word)
                tokens.extend(extra)
                weights.extend([EXPANSION_WEIGHT] * len(extra))
        return self.index.bm25.scores(tokens, weights), tokens

    def retrieve(self, query: str, k: int) -> Retrieval:
        n = len(self.index.chunks)
        if n == 0:
            return Retrieval(query, [], None, [])
        components: dict[str, np.ndarray] = {}
        qv: np.ndarray | None = None
        sims: np.ndarray | None = None
        second_sims: np.ndarray | None = None
        offsets: dict[str, float] = {}
        if self.mode != "lexical":
            assert self.embedder is not None
            qv = self.embedder.encode_queries([query])[0]
            q = qv[None, :].astype(np.float32)
            langs = self.index.doc_langs
            d, idx = self.index.chunk_vectors.search(q, n)
            dense = np.full(n, float(d[0].min()), dtype=np.float32)
            dense[idx[0]] = d[0]
            if self.center_languages:
                dense = center_by_group(dense, langs)
            components["dense"] = minmax(dense)
            ns = self.index.sentence_vectors.ntotal
            if ns:
                sd, sidx = self.index.sentence_vectors.search(q, ns)
                sims = np.empty(ns, dtype=np.float32)
                sims[sidx[0]] = sd[0]
                sent_langs = langs[self.index.sentence_chunk]
                overall = float(sims.mean())
                offsets = {
                    str(g): float(sims[sent_langs == g].mean()) - overall
                    for g in np.unique(sent_langs)
                }
                centered = center_by_group(sims, sent_langs) if self.center_languages else sims
                best = max_by_group(
                    centered, self.index.sentence_chunk, n, fill=float(centered.min())
                )
                components["sentence"] = minmax(best)
            if self.second is not None and self.weights.get("second"):
                second_sims = self._second_sims(query)
                components["second"] = minmax(
                    max_by_group(
                        second_sims, self.index.sentence_chunk, n, fill=float(second_sims.min())
                    )
                )
        lexical, tokens = self._lexical(query)
        components["lexical"] = max_scale(lexical)
        if self.weights.get("entity"):
            ent = entity_tokens(self.index.tokenizer(query))
            doc_scores = max_scale(self._entity_index().scores(ent))
            components["entity"] = doc_scores[self._chunk_doc]
        weights = {name: w for name, w in self.weights.items() if name in components}
        if not any(weights.values()):
            weights = {name: 1.0 for name in components}
        fused = weighted_sum(components, weights)
        order = np.argsort(-fused, kind="stable")[:k]
        hits = [
            Hit(
                chunk=self.index.chunks[int(i)],
                score=float(fused[i]),
                rank=r + 1,
                row=int(i),
                scores={name: float(v[i]) for name, v in components.items()},
                sentence_scores=(
                    tuple(float(x) for x in sims[self.sentence_rows(int(i))])
                    if sims is not None
                    else ()
                ),
                second_scores=(
                    tuple(float(x) for x in second_sims[self.sentence_rows(int(i))])
                    if second_sims is not None
                    else ()
                ),
            )
            for r, i in enumerate(order)
        ]
        docs = {h.chunk.doc_id for h in hits}
        doc_names = {d: self.doc_vocabulary(d) for d in docs}
        subjects = {d: self.doc_subject(d) for d in docs}
        return Retrieval(query, hits, qv, tokens, offsets, doc_names, subjects)

    def _second_sims(self, query: str) -> np.ndarray:
        """Cosine of the query and every sentence under the second encoder (not
        centered: it has little preference for the query's language); the fusion
        uses each chunk's best."""
        assert self.second is not None and self.index.second_vectors is not None
        vectors = self.index.second_vectors
        q = self.second.encode_queries([query]).astype(np.float32)
        d, idx = vectors.search(q, vectors.ntotal)
        sims = np.empty(vectors.ntotal, dtype=np.float32)
        sims[idx[0]] = d[0]
        return sims

    def sentence_rows(self, chunk_row: int) -> range:
        return range(int(self.sentence_start[chunk_row]), int(self.sentence_start[chunk_row + 1]))
