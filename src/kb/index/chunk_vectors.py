"""Chunk vectors derived from the chunk's own sentence vectors.

The build embeds every sentence of a chunk anyway (``fields.SENTENCES``); a
separate pass over the whole chunk text (up to ~500 tokens, where attention
costs the square of the length) took as long as all the sentences together.
With a derived recipe the chunk vector is instead the L2-normalized mean of the
chunk's sentence vectors, so the chunk pass disappears from the build:

* ``pass``: the chunk text is embedded on its own (the recipe of ``fields.CHUNKS``);
* ``mean``: plain mean of the sentence vectors;
* ``weighted``: mean weighted by each sentence's length in characters (a stand-in
  for its token count: the sentences of one chunk share a language);
* ``weighted+header``: ``weighted`` plus the vector of the chunk's header
  (title and section) counted as one average sentence.

A chunk without sentences is embedded whole (the ``pass`` recipe) whatever the
recipe. Derived chunk vectors get their own cache keys (the recipe is part of
the key), so switching the recipe never reuses a vector made the other way, and
the recipe is recorded in the manifest's field entry.
benchmarks/bench_build.py and docs/notes-s11c.md give what each recipe costs in
time and retrieval quality.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kb.index.fields import CHUNKS, SENTENCES, VectorField, chunk_embed_text
from kb.ingest.document import Chunk
from kb.models.embed import text_key

PASS = "pass"
RECIPES = (PASS, "mean", "weighted", "weighted+header")
DEFAULT = "weighted"  # Settings.chunk_vectors (KB_CHUNK_VECTORS)

_DESCRIPTION = {
    "mean": "mean of the chunk's sentence vectors ({prompt}{title} | {section}: {sentence}), "
    "L2-normalized",
    "weighted": "mean of the chunk's sentence vectors ({prompt}{title} | {section}: {sentence}) "
    "weighted by sentence characters, L2-normalized",
    "weighted+header": "mean of the chunk's sentence vectors ({prompt}{title} | {section}: "
    "{sentence}) weighted by sentence characters, plus {prompt}{title} | {section} as one "
    "average sentence, L2-normalized",
}

Group = tuple[str, list[str]]
Made = tuple[np.ndarray, list[str]]  # (matrix, keys) per field, as vcache.embed_groups returns


def check_recipe(recipe: str) -> str:
    if recipe not in RECIPES:
        raise ValueError(f"unknown chunk vector recipe {recipe!r}: use one of {', '.join(RECIPES)}")
    return recipe


def chunk_field(recipe: str) -> VectorField:
    """``fields.CHUNKS`` with the recipe recorded for ``recipe``."""
    if check_recipe(recipe) == PASS:
        return CHUNKS
    return dataclasses.replace(CHUNKS, recipe=f"derived: {_DESCRIPTION[recipe]}")


def derived_key(model_id: str, recipe: str, chunk: Chunk) -> str:
    """Cache key of a derived chunk vector: never equal to a text's key."""
    return text_key(model_id, f"\x00chunk-vector:{recipe}\x00{chunk_embed_text(chunk)}")


@dataclass(frozen=True)
class ChunkPlan:
    """What to embed for one encoder's fields, and how to make every field's
    (matrix, keys) from what was embedded.

    ``groups`` go to ``vcache.embed_groups``; ``finish`` takes its result (one
    (matrix, keys) per group) and returns one per field of ``fields``."""

    fields: tuple[VectorField, ...]
    groups: tuple[Group, ...]
    recipe: str
    model_id: str
    chunks: tuple[Chunk, ...]

    def finish(self, made: Sequence[Made]) -> list[Made]:
        if not self.derives:
            return list(made)
        by_group = dict(zip((stage for stage, _ in self.groups), made, strict=True))
        sentences = by_group[SENTENCES.stage]
        headers = by_group.get(_HEADERS)
        whole = by_group.get(_WHOLE)
        chunk_made = self._derive(sentences[0], headers, whole)
        out: list[Made] = []
        for f in self.fields:
            out.append(chunk_made if f.name == CHUNKS.name else by_group[f.stage])
        return out

    @property
    def derives(self) -> bool:
        return self.recipe != PASS and any(f.name == CHUNKS.name for f in self.fields)

    def _derive(self, sent: np.ndarray, headers: Made | None, whole: Made | None) -> Made:
        # embed_groups gives (0, dim) for a group with no texts, so dim is always known
        matrix = np.zeros((len(self.chunks), sent.shape[1]), dtype=np.float64)
        keys: list[str] = []
        row = 0
        empty = 0
        for i, chunk in enumerate(self.chunks):
            n = len(chunk.sentences)
            if n == 0:
                assert whole is not None
                matrix[i] = whole[0][empty]
                keys.append(whole[1][empty])
                empty += 1
                continue
            block = sent[row : row + n].astype(np.float64)
            row += n
            if self.recipe == "mean":
                weights = np.ones(n)
            else:
                weights = np.asarray([max(len(s.text), 1) for s in chunk.sentences], dtype=float)
            vec = weights @ block
            total = weights.sum()
            if self.recipe == "weighted+header":
                assert headers is not None
                vec = vec + (total / n) * headers[0][i - empty]
            matrix[i] = vec
            keys.append(derived_key(self.model_id, self.recipe, chunk))
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return np.ascontiguousarray(matrix / norms, dtype=np.float32), keys


_HEADERS = "embed chunk headers"
_WHOLE = "embed chunks"  # chunks without sentences (the stage name of fields.CHUNKS)


def plan(
    fields: Sequence[VectorField], chunks: Sequence[Chunk], recipe: str, model_id: str
) -> ChunkPlan:
    """The embedding plan for ``fields`` (one encoder's) under chunk ``recipe``.

    With ``pass``, or when the fields do not hold the chunk vectors of the main
    encoder, every field is embedded from its own texts, as before."""
    check_recipe(recipe)
    chunks = tuple(chunks)
    names = {f.name for f in fields}
    if recipe == PASS or CHUNKS.name not in names or SENTENCES.name not in names:
        same = tuple((f.stage, f.texts(chunks)) for f in fields)
        return ChunkPlan(tuple(fields), same, PASS, model_id, chunks)
    out_fields = tuple(chunk_field(recipe) if f.name == CHUNKS.name else f for f in fields)
    groups: list[Group] = [(f.stage, f.texts(chunks)) for f in fields if f.name != CHUNKS.name]
    with_sentences = [c for c in chunks if c.sentences]
    if recipe == "weighted+header":
        groups.append((_HEADERS, [c.header() for c in with_sentences]))
    if len(with_sentences) < len(chunks):
        groups.append((_WHOLE, [chunk_embed_text(c) for c in chunks if not c.sentences]))
    return ChunkPlan(out_fields, tuple(groups), recipe, model_id, chunks)
