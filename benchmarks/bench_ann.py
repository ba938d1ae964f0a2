"""ANN vs exact search: recall@10 and search p50/p95 (one query at a time, FAISS
on one thread as in kb/threads.py's query plan) of HNSW (an efSearch sweep) or,
with ``--ivf``, of the IVF indexes kb/index/ann.py builds (an nprobe sweep), on
random or real vectors.

    # random unit vectors (the worst case for ANN: no structure at all)
    python benchmarks/bench_ann.py --sizes 10000,100000
    # real e5 vectors of a built index (chunks + sentences), grown to each size
    # by noisy copies, queried with real e5 question vectors
    python benchmarks/bench_ann.py --index /tmp/kb-1812-idx --sizes 100000,1000000 \
        --query-texts squad --ef 32,64,128,256
    # kb's IVF choice for each size ("auto") and a plain IVF-Flat, 2 build threads,
    # searched as kb reads the file (memory-mapped, --mmap)
    python benchmarks/bench_ann.py --index <dir> --sizes 1000000 \
        --ivf "auto;IVF4096,Flat" --nprobe 32,64,128,256 --build-threads 2 --mmap

Real mode: the base is every chunk and sentence vector of the index; sizes above
that are filled with copies of random base vectors plus isotropic Gaussian noise
of norm ``--noise`` (0.5 gives a cosine of ~0.89 to the source), renormalized.
Queries are e5 query vectors of real questions (``squad``: KorQuAD + CMRC dev
questions via benchmarks/corpora.py; loads the embedder) or, with
``--query-texts noise``, base vectors plus a little noise. IVF build times include
training (kb's sample: ann.TRAIN_PER_LIST vectors per list); each JSON line
carries the 1-minute load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kb.index import ann


def _unit(x: np.ndarray) -> np.ndarray:
    unit: np.ndarray = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return unit


def _timed_search(idx: faiss.Index, queries: np.ndarray, k: int) -> tuple[list[float], list[Any]]:
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        _, ids = idx.search(q[None, :], k)
        times.append((time.perf_counter() - t) * 1000)
        found.append(ids[0])
    return times, found


def _stats(times: list[float]) -> dict[str, float]:
    s = sorted(times)
    return {
        "p50_ms": round(statistics.median(s), 2),
        "p95_ms": round(s[int(0.95 * (len(s) - 1))], 2),
    }


def _recall(found: list[Any], truth: list[Any], k: int) -> float:
    return round(
        float(np.mean([len(set(f) & set(g)) / k for f, g in zip(found, truth, strict=True)])), 4
    )


def measure(
    base: np.ndarray,
    queries: np.ndarray,
    efs: list[int],
    m: int = ann.HNSW_M,
    ef_construction: int = ann.EF_CONSTRUCTION,
    k: int = 10,
    build_threads: int = 1,
    ivf: list[str] | None = None,
    nprobes: list[int] | None = None,
    k_factor: int = ann.K_FACTOR,
    mmap: bool = False,
) -> dict[str, object]:
    """Exact search, then HNSW over an efSearch sweep or (``ivf``: factory strings,
    ``auto`` = kb's choice for this size) each IVF over an nprobe sweep."""
    n, d = base.shape
    faiss.omp_set_num_threads(1)
    exact = faiss.IndexFlatIP(d)
    exact.add(base)
    times, truth = _timed_search(exact, queries, k)
    del exact
    out: dict[str, object] = {"n": n, "dim": d, "build_threads": build_threads}
    out["load_before"] = round(os.getloadavg()[0], 2)
    out["flat"] = {"recall@10": 1.0, **_stats(times)}
    if ivf:
        for factory in ivf:
            spec = ann.ivf_spec(n, k_factor=k_factor)
            if factory != "auto":
                spec = ann.AnnSpec("ivf", factory, nprobe=1, k_factor=k_factor)
            out[spec.factory] = _ivf_sweep(
                base, queries, truth, spec, nprobes or [ann.NPROBE], build_threads, mmap
            )
        out["load_after"] = round(os.getloadavg()[0], 2)
        return out
    out.update({"M": m, "efConstruction": ef_construction})
    faiss.omp_set_num_threads(build_threads)
    t = time.perf_counter()
    index = faiss.index_factory(d, f"HNSW{m},Flat", faiss.METRIC_INNER_PRODUCT)
    hnsw: Any = faiss.downcast_index(index)
    hnsw.hnsw.efConstruction = ef_construction
    index.add(base)
    out["build_s"] = round(time.perf_counter() - t, 1)
    faiss.omp_set_num_threads(1)
    for ef in efs:
        hnsw.hnsw.efSearch = ef
        times, found = _timed_search(index, queries, k)
        out[f"hnsw_ef{ef}"] = {"recall@10": _recall(found, truth, k), **_stats(times)}
    out["load_after"] = round(os.getloadavg()[0], 2)
    return out


def _ivf_sweep(
    base: np.ndarray,
    queries: np.ndarray,
    truth: list[Any],
    spec: ann.AnnSpec,
    nprobes: list[int],
    build_threads: int,
    mmap: bool,
) -> dict[str, object]:
    """Build ``spec`` with kb's ann.build (training sample included), then search
    it (read back memory-mapped with ann.read when ``mmap``) at each nprobe."""
    faiss.omp_set_num_threads(build_threads)
    t = time.perf_counter()
    index = ann.build(base, base.shape[1], spec)
    res: dict[str, object] = {
        "build_s": round(time.perf_counter() - t, 1),
        "k_factor": spec.k_factor,
    }
    if mmap:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "v.faiss"
            faiss.write_index(index, str(path))
            del index
            index = ann.read(path)
            res["read"] = type(faiss.downcast_index(index)).__name__ + " mmap"
    faiss.omp_set_num_threads(1)
    inner = faiss.downcast_index(index)
    ivf: Any = (
        faiss.downcast_index(inner.base_index) if isinstance(inner, faiss.IndexRefine) else inner
    )
    k = len(truth[0])
    for nprobe in nprobes:
        if nprobe > ivf.nlist:
            continue
        ivf.nprobe = nprobe
        times, found = _timed_search(index, queries, k)
        res[f"nprobe{nprobe}"] = {"recall@10": _recall(found, truth, k), **_stats(times)}
    return res


def real_base(index_dir: Path) -> np.ndarray:
    from kb.index.layout import current_build

    build = current_build(index_dir)
    if build is None:
        sys.exit(f"no index at {index_dir}")
    indexes = [ann.read(build / f) for f in ("chunks.faiss", "sentences.faiss")]
    # stored_vectors is a view into the index: copy while the index is alive
    parts = [np.array(ann.stored_vectors(idx)) for idx in indexes]
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


def grow(base: np.ndarray, n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """``base`` then ``n - len(base)`` noisy unit copies of random base rows."""
    if n <= len(base):
        return base[:n]
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    out[: len(base)] = base
    step = 100_000
    for start in range(len(base), n, step):
        stop = min(n, start + step)
        src = base[rng.integers(0, len(base), size=stop - start)]
        z = rng.standard_normal(src.shape, dtype=np.float32)
        z *= noise / np.sqrt(base.shape[1])
        out[start:stop] = _unit(src + z)
    return out


def question_vectors(count: int) -> np.ndarray:
    from corpora import paragraphs

    from kb.models.embed import load_embedder
    from kb.settings import Settings

    qs: list[str] = []
    for i, p in enumerate(paragraphs()):
        if i % 7 == 0 and p.questions:
            qs.append(p.questions[-1])
    s = Settings.from_env()
    emb = load_embedder(s.model, cache_dir=s.model_cache_dir, variant=s.e5_variant)
    return np.ascontiguousarray(emb.encode_queries(qs[:count]), dtype=np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--ef", default="32,64,128,256", help="efSearch values to sweep")
    ap.add_argument("--m", type=int, default=ann.HNSW_M)
    ap.add_argument("--ef-construction", type=int, default=ann.EF_CONSTRUCTION)
    ap.add_argument("--build-threads", type=int, default=1)
    ap.add_argument("--index", type=Path, help="a built index: real vectors")
    ap.add_argument("--query-texts", choices=("squad", "noise"), default="squad")
    ap.add_argument("--noise", type=float, default=0.5)
    ap.add_argument(
        "--ivf",
        help="IVF factory strings to measure instead of HNSW, ';'-separated "
        "('auto' = kb's choice for each size, e.g. IVF4096,SQ8,RFlat at 1M)",
    )
    ap.add_argument("--nprobe", default="16,32,64,128,256", help="nprobe values to sweep (--ivf)")
    ap.add_argument(
        "--k-factor", type=int, default=ann.K_FACTOR, help="re-ranked per result (RFlat)"
    )
    ap.add_argument(
        "--mmap", action="store_true", help="search the index as kb reads it (ann.read)"
    )
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    efs = [int(x) for x in args.ef.split(",")]
    kw: dict[str, Any] = {
        "m": args.m,
        "ef_construction": args.ef_construction,
        "build_threads": args.build_threads,
        "ivf": args.ivf.split(";") if args.ivf else None,
        "nprobes": [int(x) for x in args.nprobe.split(",")],
        "k_factor": args.k_factor,
        "mmap": args.mmap,
    }
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.index:
        base = real_base(args.index)
        if args.query_texts == "squad":
            queries = question_vectors(args.queries)
        else:
            pick = base[rng.choice(len(base), size=args.queries, replace=False)]
            queries = _unit(pick + 0.05 * rng.standard_normal(pick.shape, dtype=np.float32))
        for n in sizes or [len(base)]:
            x = grow(base, n, args.noise, rng)
            label = {
                "vectors": f"real e5 ({len(base)}) + noisy copies",
                "queries": args.query_texts,
            }
            print(json.dumps({**label, **measure(x, queries, efs, **kw)}), flush=True)
        return
    for n in sizes:
        base = _unit(rng.standard_normal((n, args.dim), dtype=np.float32))
        queries = _unit(rng.standard_normal((args.queries, args.dim), dtype=np.float32))
        print(json.dumps({"vectors": "random", **measure(base, queries, efs, **kw)}), flush=True)


if __name__ == "__main__":
    main()
