"""kb/index/ann.py: which vector index a size gets, that the IVF built above the
threshold finds the exact neighbours, that it survives write + memory-mapped read
with its parameters, that indexes built with the earlier HNSW choice still open,
and that a whole build + retrieval runs on the IVF path (tiny threshold)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import faiss
import numpy as np
import pytest
from conftest import FIXTURES, FakeEmbedder

from kb.index import ann
from kb.index.layout import current_build
from kb.models.korean import KoreanMorphemes
from kb.qa.service import KnowledgeBase
from kb.settings import Settings

DIM = 64


def _clustered(n: int, seed: int = 0, clusters: int = 200) -> np.ndarray:
    """Unit vectors around ``clusters`` random centres (real embeddings cluster)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, DIM))
    x = centres[rng.integers(0, clusters, n)] + 0.6 * rng.standard_normal((n, DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _recall(index: faiss.Index, base: np.ndarray, queries: np.ndarray, k: int = 10) -> float:
    exact = faiss.IndexFlatIP(base.shape[1])
    exact.add(base)
    _, truth = exact.search(queries, k)
    _, got = index.search(queries, k)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(got, truth, strict=True)]))


def test_choice_by_size() -> None:
    assert ann.choose(199_999).kind == "flat"  # default threshold 200,000
    big = ann.choose(1_000_000)
    assert (big.kind, big.factory, big.nprobe) == ("ivf", "IVF4096,SQ8,RFlat", ann.NPROBE)
    assert big.k_factor == ann.K_FACTOR
    assert ann.choose(200_000).factory == "IVF2048,SQ8,RFlat"
    assert ann.choose(10, limit=10).kind == "ivf"
    # a tiny threshold from the settings puts small indexes on the IVF path
    tiny = Settings.from_env({"KB_ANN_THRESHOLD": "5"}).ann_threshold
    assert ann.choose(5, tiny).kind == "ivf" and ann.choose(4, tiny).kind == "flat"


def test_list_count_is_a_trainable_power_of_two() -> None:
    assert ann.ivf_lists(1_000_000) == 4096
    assert ann.ivf_lists(100_000) == 1024
    for n in (1, 5, 39, 40, 100, 3000, 50_000, 10**7):
        nlist = ann.ivf_lists(n)
        assert nlist & (nlist - 1) == 0
        assert nlist == 1 or nlist * ann.MIN_PER_LIST <= n
    assert ann.choose(100, limit=1).nprobe <= ann.ivf_lists(100)  # nprobe never above nlist


def _near(x: np.ndarray, n: int, seed: int = 1) -> np.ndarray:
    """Queries between the clusters' members, not copies of stored vectors."""
    rng = np.random.default_rng(seed)
    q = x[rng.choice(len(x), n, replace=False)] + 0.3 * rng.standard_normal((n, x.shape[1]))
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def test_ivf_finds_the_exact_neighbours(tmp_path: Path) -> None:
    x = _clustered(8000)
    q = _near(x, 200)
    spec = ann.choose(len(x), limit=1000)
    assert spec.kind == "ivf"
    index = ann.build(x, DIM, spec)
    assert ann.spec_of(index) == spec
    assert _recall(index, x, q) >= 0.98
    faiss.write_index(index, str(tmp_path / "v.faiss"))
    back = ann.read(tmp_path / "v.faiss")
    assert ann.spec_of(back) == spec  # nprobe and k_factor come back from the file
    np.testing.assert_array_equal(ann.stored_vectors(back), x)
    assert _recall(back, x, q) >= 0.98


def test_a_partial_probe_still_finds_them() -> None:
    # 8000 vectors make only 128 lists (all probed by the default nprobe): probe an
    # eighth of them, so the trained lists (not an exhaustive scan) find the neighbours
    x = _clustered(8000)
    q = _near(x, 200)
    spec = ann.ivf_spec(len(x), nprobe=ann.ivf_lists(len(x)) // 8)
    index = ann.build(x, DIM, spec)
    assert spec.nprobe == 16 and _recall(index, x, q) >= 0.9
    # the floor means something: one list probed misses many of them on this data
    ivf = faiss.downcast_index(faiss.downcast_index(index).base_index)
    ivf.nprobe = 1
    assert _recall(index, x, q) < 0.8


def _mapped(path: Path) -> bool:
    """Whether this process has ``path`` memory-mapped (Linux /proc/self/maps)."""
    maps = Path("/proc/self/maps").read_text(encoding="utf-8")
    return any(line.endswith(str(path)) for line in maps.splitlines())


def test_read_memory_maps_the_vectors(tmp_path: Path) -> None:
    x = _clustered(4000)
    for spec in (ann.AnnSpec("flat", "Flat"), ann.choose(len(x), limit=1), ann.hnsw_spec()):
        path = tmp_path / f"{spec.kind}.faiss"
        faiss.write_index(ann.build(x, DIM, spec), str(path))
        assert not _mapped(path)
        mapped = ann.read(path)
        assert _mapped(path), spec.kind  # zero-copy over the file, not read into memory
        np.testing.assert_array_equal(ann.stored_vectors(mapped), x)
        in_memory = ann.read(path, mmap=False)
        assert ann.spec_of(in_memory) == ann.spec_of(mapped) == spec
        np.testing.assert_array_equal(mapped.search(x[:20], 5)[1], in_memory.search(x[:20], 5)[1])
        del mapped


def test_hnsw_indexes_built_before_still_open(tmp_path: Path) -> None:
    x = _clustered(2000)
    spec = ann.hnsw_spec()
    faiss.write_index(ann.build(x, DIM, spec), str(tmp_path / "old.faiss"))
    back = ann.read(tmp_path / "old.faiss")
    assert ann.spec_of(back) == spec == ann.AnnSpec("hnsw", "HNSW32,Flat", ef_search=256)
    np.testing.assert_array_equal(ann.stored_vectors(back), x)
    assert _recall(back, x, x[:100] + 0.01) >= 0.95


def test_ivf_needs_enough_vectors_and_an_ivf_factory() -> None:
    x = _clustered(100)
    with pytest.raises(ValueError, match="cannot train"):
        ann.build(x, DIM, ann.AnnSpec("ivf", "IVF256,SQ8,RFlat", nprobe=8, k_factor=4))
    with pytest.raises(ValueError, match="not an IVF"):
        ann.build(x, DIM, ann.AnnSpec("ivf", "Flat", nprobe=8))
    one = ann.build(x[:1], DIM, ann.choose(1, limit=1))
    assert one.ntotal == 1 and one.search(x[:1], 1)[1][0, 0] == 0


def _kb(tmp_path: Path, name: str, embedder: FakeEmbedder, analyzer: KoreanMorphemes, **kw: int):
    corpus = tmp_path / name / "corpus"
    shutil.copytree(FIXTURES / "tiny", corpus)
    settings = Settings(
        corpus_dir=corpus, index_dir=tmp_path / name / "index", second_model="none", **kw
    )
    kb = KnowledgeBase(settings, embedder=embedder, analyzer=analyzer)
    kb.build()
    return kb


def test_a_build_above_the_threshold_uses_ivf_end_to_end(
    tmp_path: Path, fake_embedder: FakeEmbedder, analyzer: KoreanMorphemes
) -> None:
    ivf_kb = _kb(tmp_path, "ivf", fake_embedder, analyzer, ann_threshold=2)
    build = current_build(ivf_kb.settings.index_dir)
    assert build is not None
    recorded = json.loads((build / "manifest.json").read_text(encoding="utf-8"))["build"]["ann"]
    assert recorded["threshold"] == 2
    index = ivf_kb.index
    for name, vectors in (("chunks", index.chunk_vectors), ("sentences", index.sentence_vectors)):
        assert recorded[name]["kind"] == "ivf"
        assert ann.spec_of(vectors).to_dict() == recorded[name]
    # retrieval over the IVF indexes gives what it gives over exact ones
    flat_kb = _kb(tmp_path, "flat", FakeEmbedder(), analyzer)
    assert ann.spec_of(flat_kb.index.chunk_vectors).kind == "flat"
    for question in ("bike rental price per day", "museum opening hours"):
        got = [h.chunk.chunk_id for h in ivf_kb.retriever_for("hybrid").retrieve(question, 3).hits]
        want = [
            h.chunk.chunk_id for h in flat_kb.retriever_for("hybrid").retrieve(question, 3).hits
        ]
        assert got and got == want
    # an incremental rebuild reuses the vectors the IVF files hold (embeds nothing)
    calls = fake_embedder.calls
    ivf_kb.build()
    assert fake_embedder.calls == calls
