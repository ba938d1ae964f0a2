"""The vector fields of an index: the one place that says what is embedded.

Each field is one FAISS file in a build: which of the build's encoders embeds
it (``main``, the e5 model, or ``second``, the optional second encoder), whether
it has a row per chunk or per sentence, and the text recipe that turns a chunk
(and sentence) into the text embedded. The build embeds every field in
``FIELDS`` whose encoder it has, the vector cache keys each field's vectors by
text, the manifest records each field it built (name, file, rows, recipe and
the embedder's id, dim and runtime), and loading opens exactly the fields the
manifest lists. Adding a field: a ``VectorField`` here, and its signal in the
retriever (see the README, "How to add a vector field").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from kb.ingest.document import Chunk, Sentence

Encoder = Literal["main", "second"]
Rows = Literal["chunk", "sentence"]


def chunk_embed_text(chunk: Chunk) -> str:
    """What is embedded for a chunk: its title and section, then its text (BM25
    reads the same text)."""
    return f"{chunk.header()}\n{chunk.text}"


def sentence_embed_text(chunk: Chunk, sentence: Sentence) -> str:
    return f"{chunk.header()}: {sentence.text}"


def second_sentence_text(chunk: Chunk, sentence: Sentence) -> str:
    """What the second encoder embeds for a sentence: the article title and the
    sentence (the section heading as well measured worse: holdout MRR@10 0.828
    against 0.855)."""
    return f"{chunk.title}: {sentence.text}"


@dataclass(frozen=True)
class VectorField:
    name: str  # key in the manifest, vector_keys.json and KnowledgeIndex.vectors
    file: str  # FAISS file in the build folder
    encoder: Encoder
    rows: Rows
    recipe: str  # recorded in the manifest: how the text is made (the prompt goes first)
    stage: str  # progress label while it is embedded
    chunk_text: Callable[[Chunk], str] | None = None  # rows == "chunk"
    sentence_text: Callable[[Chunk, Sentence], str] | None = None  # rows == "sentence"

    def texts(self, chunks: Sequence[Chunk]) -> list[str]:
        """The texts to embed, in row order."""
        if self.rows == "chunk":
            assert self.chunk_text is not None
            return [self.chunk_text(c) for c in chunks]
        assert self.sentence_text is not None
        return [self.sentence_text(c, s) for c in chunks for s in c.sentences]

    def record(self, model: dict[str, Any], count: int) -> dict[str, Any]:
        """This field's manifest entry (``model``: id, dim, runtime of its embedder)."""
        return {
            "name": self.name,
            "file": self.file,
            "rows": self.rows,
            "recipe": self.recipe,
            "embedder": model,
            "count": count,
        }


CHUNKS = VectorField(
    "chunks",
    "chunks.faiss",
    "main",
    "chunk",
    "{prompt}{title} | {section}\n{text}",
    "embed chunks",
    chunk_text=chunk_embed_text,
)
SENTENCES = VectorField(
    "sentences",
    "sentences.faiss",
    "main",
    "sentence",
    "{prompt}{title} | {section}: {sentence}",
    "embed sentences",
    sentence_text=sentence_embed_text,
)
SECOND_SENTENCES = VectorField(
    "second_sentences",
    "sentences_second.faiss",
    "second",
    "sentence",
    "{title}: {sentence}",
    "embed sentences (second encoder)",
    sentence_text=second_sentence_text,
)

# every field a build may hold; the main encoder's fields are required
FIELDS: tuple[VectorField, ...] = (CHUNKS, SENTENCES, SECOND_SENTENCES)
BY_NAME = {f.name: f for f in FIELDS}
