"""ANN vs exact search: recall@10 and search p50/p95 (one query at a time, FAISS
on one thread as in kb/threads.py's query plan) of the index kb/index/ann.py
builds, for random unit vectors and real sentence vectors of a built index.

    python benchmarks/bench_ann.py --sizes 10000,100000,1000000
    python benchmarks/bench_ann.py --index /tmp/kb-1812-idx     # real vectors

Random 384-dim unit vectors are the hard case for HNSW (no cluster structure);
real e5 vectors are easier. Queries are held-out vectors (random: fresh ones;
real: the index's own vectors with a little noise).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import faiss
import numpy as np

from kb.index import ann


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def measure(base: np.ndarray, queries: np.ndarray, k: int = 10, ef: int = ann.EF_SEARCH) -> dict:
    faiss.omp_set_num_threads(1)
    n, d = base.shape
    exact = faiss.IndexFlatIP(d)
    exact.add(base)
    _, truth = exact.search(queries, k)
    t = time.perf_counter()
    index = ann.build(base, d, ann.AnnSpec("hnsw", f"HNSW{ann.HNSW_M},Flat", ef))
    build_s = time.perf_counter() - t
    out: dict[str, object] = {"n": n, "dim": d, "build_s": round(build_s, 1)}
    for name, idx in (("flat", exact), ("hnsw", index)):
        times, found = [], []
        for q in queries:
            t = time.perf_counter()
            _, ids = idx.search(q[None, :], k)
            times.append((time.perf_counter() - t) * 1000)
            found.append(ids[0])
        recall = np.mean([len(set(f) & set(g)) / k for f, g in zip(found, truth, strict=True)])
        times.sort()
        out[name] = {
            "recall@10": round(float(recall), 4),
            "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--ef", type=int, default=ann.EF_SEARCH)
    ap.add_argument("--index", type=Path, help="a built index: its sentence vectors")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    if args.index:
        from kb.index.layout import current_build

        build = current_build(args.index)
        if build is None:
            sys.exit(f"no index at {args.index}")
        base = np.array(ann.stored_vectors(ann.read(build / "sentences.faiss")))
        pick = rng.choice(len(base), size=min(args.queries, len(base)), replace=False)
        queries = _unit(base[pick] + 0.05 * rng.standard_normal(base[pick].shape))
        print(json.dumps({"vectors": "real sentences", **measure(base, queries, ef=args.ef)}))
        return
    for n in (int(s) for s in args.sizes.split(",")):
        base = _unit(rng.standard_normal((n, args.dim), dtype=np.float32))
        queries = _unit(rng.standard_normal((args.queries, args.dim), dtype=np.float32))
        print(json.dumps({"vectors": "random", **measure(base, queries, ef=args.ef)}), flush=True)


if __name__ == "__main__":
    main()
