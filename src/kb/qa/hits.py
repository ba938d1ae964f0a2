"""What a retrieval returns: the ranked hits (a chunk with its fused and
per-signal scores and its sentences' cosines) and what the answer stage reads
besides them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kb.ingest.document import Chunk
from kb.qa.mentions import ModelName


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
    # the second encoder's cosine of the query without its model names and each
    # sentence: what a sentence says about the topic asked, beyond the model named
    topic_scores: tuple[float, ...] = ()


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
    # document id -> place ("start", "end") -> the chunk ids of the passages that
    # begin in the article's first or last fifth (its introduction, its conclusion)
    doc_places: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)

    def hits_json(self) -> list[dict[str, object]]:
        """The hits as JSON objects (``kb search --json``, ``/api/search``)."""
        return [
            {
                "rank": h.rank,
                "score": round(h.score, 6),
                "doc_id": h.chunk.doc_id,
                "title": h.chunk.title,
                "section": h.chunk.section,
                "lang": h.chunk.lang,
                "source": h.chunk.source,
                "start": h.chunk.start,
                "end": h.chunk.end,
                "text": h.chunk.raw,
                "scores": {k: round(v, 6) for k, v in h.scores.items()},
            }
            for h in self.hits
        ]
