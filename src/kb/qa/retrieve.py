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

Each signal returns its own candidates (FAISS top-k over chunks and over
sentences, BM25 top-k from the sparse index, the chunks of the articles the
name index ranks first) and fusion runs over their union only: nothing per
query is the size of the corpus. Centering uses per-language mean vectors
saved at build time (the mean of ``q . v`` over a language is ``q . mean(v)``);
each signal's [0, 1] scaling keeps the corpus-wide bounds, the top from the
candidates and the floor from the least similar chunks (a FAISS search with
``-q``). Build-time data comes from index/derived.py.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from kb import threads
from kb.index.ann import stored_vectors
from kb.index.derived import entity_tokens
from kb.index.load import KnowledgeIndex
from kb.index.sparse import SparseHits
from kb.ingest.document import Chunk
from kb.models.embed import Embedder
from kb.qa.candidates import Depths, dot_rows, max_per_chunk, scale, sentence_rows
from kb.qa.fuse import weighted_sum
from kb.qa.glossary import expand
from kb.qa.hits import Hit, Retrieval
from kb.qa.lexicon import Lexicon, load_lexicon
from kb.qa.mentions import ModelName, subject_of, without_names

MODES = ("hybrid", "dense", "lexical")
EXPANSION_WEIGHT = 0.4
# an article's introduction (conclusion): its passages that begin in its first (last)
# fifth of text; a question pointing at one reads those ("the introduction lists")
PLACE_SHARE = 0.2
SIGNALS = ("dense", "sentence", "lexical", "entity", "second")


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
        query_threads: int = 1,
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
        if index.derived is None:
            raise ValueError("the index has no derived data: run `kb index --rebuild`")
        self.derived = index.derived
        self.sentence_start = index.derived.sentence_start
        self._chunk_store = stored_vectors(index.chunk_vectors)
        self._sentence_store = stored_vectors(index.sentence_vectors)
        self._second_store = (
            stored_vectors(index.second_vectors) if index.second_vectors is not None else None
        )
        self.lexicon = lexicon or load_lexicon()
        self._subjects: dict[str, ModelName | None] = {}
        self._vocab: dict[str, frozenset[str]] = {}
        self._places: dict[str, dict[str, frozenset[str]]] = {}
        self.threads = threads.configure("query", query_threads)
        index.tokenizer.warm()
        if self.second is not None:
            set_threads = getattr(self.second, "set_threads", None)
            if set_threads is not None:  # USE: one BLAS thread per query, as planned
                set_threads(self.threads.blas)
            # load its weights (~1.5 s) now, not at the first question
            self.second.encode_queries(["warm up"])

    def _doc_chunks(self, doc_id: str) -> list[Chunk]:
        row = self.derived.doc_row(doc_id)
        rows = self.derived.doc_chunks(row) if row is not None else np.zeros(0, np.int64)
        return [self.index.chunks[int(i)] for i in rows]

    def doc_subject(self, doc_id: str) -> ModelName | None:
        """The model an article is about (computed once per article)."""
        if doc_id not in self._subjects:
            chunks = self._doc_chunks(doc_id)
            texts = [chunks[0].title] if chunks else []
            texts += [c.text for c in chunks]
            self._subjects[doc_id] = subject_of(texts, self.lexicon)
        return self._subjects[doc_id]

    def doc_places(self, doc_id: str) -> dict[str, frozenset[str]]:
        """The passages of an article's introduction and conclusion: those that
        begin in its first or its last ``PLACE_SHARE`` of text."""
        if doc_id not in self._places:
            chunks = self._doc_chunks(doc_id)
            first = min((c.start for c in chunks), default=0)
            length = max((c.end for c in chunks), default=0) - first or 1
            at = {c.chunk_id: (c.start - first) / length for c in chunks}
            self._places[doc_id] = {
                "start": frozenset(i for i, x in at.items() if x < PLACE_SHARE),
                "end": frozenset(i for i, x in at.items() if x >= 1 - PLACE_SHARE),
            }
        return self._places[doc_id]

    def doc_vocabulary(self, doc_id: str) -> frozenset[str]:
        """Entity tokens (names, numbers, their pairs) the article mentions."""
        if doc_id not in self._vocab:
            row = self.derived.doc_row(doc_id)
            self._vocab[doc_id] = frozenset() if row is None else self.derived.doc_terms(row)
        return self._vocab[doc_id]

    def search(self, query: str, k: int) -> list[Hit]:
        return self.retrieve(query, k).hits

    def _lexical(self, query: str) -> tuple[SparseHits, list[str]]:
        tok = self.index.tokenizer
        tokens = tok(query)
        weights = [1.0] * len(tokens)
        if self.expand_query:
            for word in expand(query, self.lexicon.glossary):
                extra = tok(word)
                tokens.extend(extra)
                weights.extend([EXPANSION_WEIGHT] * len(extra))
        return self.index.bm25.query(tokens, weights), tokens

    def _language_shift(self, means: np.ndarray, counts: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Per language: overall mean cosine minus the language's mean cosine
        (what centering adds to a score of that language)."""
        lang_mean = means @ q
        total = max(int(counts.sum()), 1)
        overall = float((lang_mean * counts).sum()) / total
        shift: np.ndarray = (overall - lang_mean).astype(np.float32)
        return shift

    def retrieve(self, query: str, k: int) -> Retrieval:
        n = len(self.index.chunks)
        if n == 0:
            return Retrieval(query, [], None, [])
        depth = Depths.for_k(k)
        der = self.derived
        pools: list[np.ndarray] = []
        qv: np.ndarray | None = None
        far = np.zeros(0, dtype=np.int64)
        offsets: dict[str, float] = {}
        if self.mode != "lexical":
            assert self.embedder is not None
            qv = self.embedder.encode_queries([query])[0].astype(np.float32)
            q = qv[None, :]
            _, idx = self.index.chunk_vectors.search(q, min(n, depth.chunks))
            pools.append(idx[0])
            _, far_idx = self.index.chunk_vectors.search(-q, min(n, depth.far))
            far = far_idx[0][far_idx[0] >= 0].astype(np.int64)
            ns = self.index.sentence_vectors.ntotal
            if ns:
                _, sidx = self.index.sentence_vectors.search(q, min(ns, depth.sentences))
                pools.append(np.asarray(self.index.sentence_chunk)[sidx[0][sidx[0] >= 0]])
                shift = self._language_shift(der.lang_sentence_mean, der.lang_sentence_count, qv)
                offsets = {
                    g: -float(shift[i])
                    for i, g in enumerate(der.langs)
                    if der.lang_sentence_count[i] > 0
                }
        lexical, tokens = self._lexical(query)
        pools.append(lexical.top(depth.lexical).docs)
        entity: SparseHits | None = None
        if self.weights.get("entity"):
            entity = der.entity.query(entity_tokens(self.index.tokenizer(query)))
            for d in entity.top(depth.entity_docs).docs:
                pools.append(der.doc_chunks(int(d)))
        rows = np.unique(np.concatenate([np.asarray(p, dtype=np.int64) for p in pools]))
        rows = rows[rows >= 0]
        components, sims, second, topic = self._components(query, qv, rows, far, lexical, entity)
        weights = {name: w for name, w in self.weights.items() if name in components}
        if not any(weights.values()):
            weights = {name: 1.0 for name in components}
        fused = weighted_sum(components, weights)
        order = np.argsort(-fused, kind="stable")[:k]
        hits = [
            Hit(
                chunk=self.index.chunks[int(rows[i])],
                score=float(fused[i]),
                rank=r + 1,
                row=int(rows[i]),
                scores={name: float(v[i]) for name, v in components.items()},
                sentence_scores=tuple(float(x) for x in sims[i]) if sims else (),
                second_scores=tuple(float(x) for x in second[i]) if second else (),
                topic_scores=tuple(float(x) for x in topic[i]) if topic else (),
            )
            for r, i in enumerate(order)
        ]
        docs = {h.chunk.doc_id for h in hits}
        doc_names = {d: self.doc_vocabulary(d) for d in docs}
        subjects = {d: self.doc_subject(d) for d in docs}
        places = {d: self.doc_places(d) for d in docs}
        return Retrieval(query, hits, qv, tokens, offsets, doc_names, subjects, places)

    def _components(
        self,
        query: str,
        qv: np.ndarray | None,
        rows: np.ndarray,
        far: np.ndarray,
        lexical: SparseHits,
        entity: SparseHits | None,
    ) -> tuple[dict[str, np.ndarray], list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        """Normalized signals of the candidate ``rows``, plus each candidate's
        raw sentence cosines (e5, second encoder, second encoder for the query
        without its model names; empty lists: none)."""
        der = self.derived
        components: dict[str, np.ndarray] = {}
        sims: list[np.ndarray] = []
        second: list[np.ndarray] = []
        topic: list[np.ndarray] = []
        if qv is not None:
            # candidates first, then the least similar chunks (for the floors)
            both = np.concatenate([rows, far])
            nc = len(rows)
            lang = np.asarray(der.lang_chunk[both], dtype=np.int64)
            shift = self._language_shift(der.lang_chunk_mean, der.lang_chunk_count, qv)
            dense = dot_rows(self._chunk_store, both, qv)
            if self.center_languages:
                dense = dense + shift[lang]
            components["dense"] = scale(dense[:nc], float(dense.min()), float(dense[:nc].max()))
            srows, counts = sentence_rows(self.sentence_start, both)
            if len(srows):
                raw = dot_rows(self._sentence_store, srows, qv)
                centered = raw
                if self.center_languages:
                    s_shift = self._language_shift(
                        der.lang_sentence_mean, der.lang_sentence_count, qv
                    )
                    centered = raw + np.repeat(s_shift[lang], counts)
                fill = float(centered.min())
                best = max_per_chunk(centered, counts, fill)
                components["sentence"] = scale(best[:nc], float(best.min()), float(best[:nc].max()))
                sims = np.split(raw, np.cumsum(counts)[:nc])[:nc] if nc else []
                if self.second is not None and self.weights.get("second"):
                    assert self._second_store is not None
                    q2, qt = self.second.encode_queries(
                        [query, without_names(query, self.lexicon)]
                    ).astype(np.float32)
                    raw2 = dot_rows(self._second_store, srows, q2)
                    rawt = dot_rows(self._second_store, srows, qt)
                    topic = np.split(rawt, np.cumsum(counts)[:nc])[:nc] if nc else []
                    best2 = max_per_chunk(raw2, counts, float(raw2.min()))
                    components["second"] = scale(
                        best2[:nc], float(best2.min()), float(best2[:nc].max())
                    )
                    second = np.split(raw2, np.cumsum(counts)[:nc])[:nc] if nc else []
        components["lexical"] = scale(lexical.lookup(rows), 0.0, lexical.max)
        if entity is not None:
            doc_rows = np.asarray(der.chunk_doc[rows], dtype=np.int64)
            components["entity"] = scale(entity.lookup(doc_rows), 0.0, entity.max)
        return components, sims, second, topic

    def sentence_rows(self, chunk_row: int) -> range:
        return range(int(self.sentence_start[chunk_row]), int(self.sentence_start[chunk_row + 1]))
