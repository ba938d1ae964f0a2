"""Chunk vectors derived from sentence vectors (index/chunk_vectors.py): what the
build stores for each recipe, what it embeds, the recipe in the manifest, and
switching recipes on an existing index (nothing made the other way is reused).
Unit tier: fake embedders over the tiny fixture corpus."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, FakeEmbedder

from kb.errors import SettingsError
from kb.index import chunk_vectors
from kb.index.build import BuildReport, build_index
from kb.index.fields import CHUNKS, FIELDS, SENTENCES, chunk_embed_text
from kb.index.load import KnowledgeIndex, load_index
from kb.ingest.chunk import ChunkerConfig, chunk_document
from kb.ingest.load import load_corpus
from kb.models.embed import text_key
from kb.settings import Settings


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def encode_passages(self, texts, progress=None):  # type: ignore[no-untyped-def]
        self.seen.extend(texts)
        return super().encode_passages(texts, progress=progress)


def _build(index: Path, recipe: str, embedder: FakeEmbedder | None = None) -> BuildReport:
    docs, _ = load_corpus(FIXTURES / "tiny")
    return build_index(
        docs, index, embedder or FakeEmbedder(), ChunkerConfig(), chunk_vectors=recipe
    )


def _matrix(index: KnowledgeIndex, name: str) -> np.ndarray:
    store = index.vectors[name]
    return np.asarray(store.reconstruct_n(0, store.ntotal))


def _expected(index: KnowledgeIndex, recipe: str, emb: FakeEmbedder) -> np.ndarray:
    """The recipe computed here from the stored sentence vectors."""
    sent = _matrix(index, SENTENCES.name).astype(np.float64)
    rows, at = [], 0
    for c in index.chunks:
        n = len(c.sentences)
        w = np.ones(n) if recipe == "mean" else np.array([len(s.text) for s in c.sentences], float)
        v = w @ sent[at : at + n]
        if recipe == "weighted+header":
            v = v + w.mean() * emb.encode_passages([c.header()])[0]
        at += n
        rows.append(v / np.linalg.norm(v))
    return np.asarray(rows)


@pytest.mark.parametrize("recipe", ["mean", "weighted", "weighted+header"])
def test_derived_chunk_vectors_are_the_recipe_of_the_sentence_vectors(
    tmp_path: Path, recipe: str
) -> None:
    emb = CountingEmbedder()
    report = _build(tmp_path / "idx", recipe, emb)
    index = load_index(tmp_path / "idx")
    assert all(c.sentences for c in index.chunks)
    np.testing.assert_allclose(
        _matrix(index, CHUNKS.name), _expected(index, recipe, emb), atol=1e-5
    )
    # no chunk text went through the model: only sentences (and headers)
    chunk_texts = {chunk_embed_text(c) for c in index.chunks}
    assert not chunk_texts & set(emb.seen)
    sentence_texts = set(SENTENCES.texts(index.chunks))
    headers = {c.header() for c in index.chunks} if recipe.endswith("header") else set()
    assert set(emb.seen) == sentence_texts | headers
    assert report.chunks_embedded == len(sentence_texts | headers) and report.chunks_reused == 0
    record = index.manifest.field_records()[CHUNKS.name]
    assert record["recipe"] == chunk_vectors.chunk_field(recipe).recipe != CHUNKS.recipe
    assert record["recipe"].startswith("derived: ")
    keys = json.loads((index.path / "vector_keys.json").read_text("utf-8"))[CHUNKS.name]
    passed = {text_key(emb.model_id, t) for t in chunk_texts}
    assert len(keys) == len(index.chunks) and not set(keys) & passed


def test_pass_embeds_the_chunk_text(tmp_path: Path) -> None:
    emb = FakeEmbedder()
    _build(tmp_path / "idx", "pass", emb)
    index = load_index(tmp_path / "idx")
    want = emb.encode_passages([chunk_embed_text(c) for c in index.chunks])
    np.testing.assert_allclose(_matrix(index, CHUNKS.name), want, atol=1e-6)
    assert index.manifest.field_records()[CHUNKS.name]["recipe"] == CHUNKS.recipe


def test_switching_the_recipe_recomputes_chunk_vectors_and_reuses_sentences(
    tmp_path: Path,
) -> None:
    fresh_pass, fresh_derived = tmp_path / "p", tmp_path / "d"
    _build(fresh_pass, "pass")
    _build(fresh_derived, "weighted")
    idx = tmp_path / "idx"
    _build(idx, "pass")
    # pass -> weighted: every sentence vector comes from the cache, nothing embedded
    report = _build(idx, "weighted")
    assert report.chunks_embedded == 0
    got, want = load_index(idx), load_index(fresh_derived)
    np.testing.assert_allclose(_matrix(got, "chunks"), _matrix(want, "chunks"), atol=1e-6)
    assert got.manifest.field_records()["chunks"] == want.manifest.field_records()["chunks"]
    # weighted -> pass: the chunk texts are embedded again, not taken from the derived rows
    report = _build(idx, "pass")
    got, want = load_index(idx), load_index(fresh_pass)
    assert report.chunks_embedded == len({chunk_embed_text(c) for c in got.chunks})
    np.testing.assert_allclose(_matrix(got, "chunks"), _matrix(want, "chunks"), atol=1e-6)
    assert got.manifest.field_records()["chunks"]["recipe"] == CHUNKS.recipe


def test_a_chunk_without_sentences_is_embedded_whole(tmp_path: Path) -> None:
    docs, _ = load_corpus(FIXTURES / "tiny")
    chunks = [c for d in docs for c in chunk_document(d, ChunkerConfig())][:3]
    chunks[1] = dataclasses.replace(chunks[1], sentences=())
    emb = FakeEmbedder()
    fields = [f for f in FIELDS if f.encoder == "main"]
    plan = chunk_vectors.plan(fields, chunks, "weighted+header", emb.model_id)
    made = [
        (emb.encode_passages(texts), [text_key(emb.model_id, t) for t in texts])
        for _, texts in plan.groups
    ]
    out = dict(zip((f.name for f in plan.fields), plan.finish(made), strict=True))
    matrix, keys = out["chunks"]
    np.testing.assert_allclose(
        matrix[1], emb.encode_passages([chunk_embed_text(chunks[1])])[0], atol=1e-6
    )
    assert keys[1] == text_key(emb.model_id, chunk_embed_text(chunks[1]))
    assert len(out["sentences"][0]) == sum(len(c.sentences) for c in chunks)
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-6)


def test_the_setting_and_its_check() -> None:
    assert Settings().chunk_vectors == chunk_vectors.DEFAULT
    assert Settings.from_env({"KB_CHUNK_VECTORS": "pass"}).chunk_vectors == "pass"
    with pytest.raises(SettingsError):
        Settings.from_env({"KB_CHUNK_VECTORS": "pooled"})
    with pytest.raises(ValueError):
        chunk_vectors.plan([CHUNKS, SENTENCES], [], "pooled", "m")


class ThreadedSecond(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__(dim=16, model_id="fake:second-16")
        self.threads: list[int] = []

    def set_threads(self, n: int) -> None:
        self.threads.append(n)


def test_the_second_encoder_follows_the_build_thread_plan(tmp_path: Path) -> None:
    """USE sets its own BLAS threads (min(4, cores)) on every call unless told;
    the build tells it the plan's BLAS count (one), as the retriever does per query."""
    docs, _ = load_corpus(FIXTURES / "tiny")
    second = ThreadedSecond()
    build_index(docs, tmp_path / "idx", FakeEmbedder(), ChunkerConfig(), second=second)
    assert second.threads == [1]
