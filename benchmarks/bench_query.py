"""Query-path timing: model load, open, first search after opening, then search
p50/p95, in a fresh process per thread setting.

    # the four articles (index built with `kb index` first)
    python benchmarks/bench_query.py --index .kb_index --questions evaluation/gold/corpus_dev.jsonl
    # the 1,812-article corpus (benchmarks/corpora.py, then KB_CORPUS_DIR=... kb index)
    python benchmarks/bench_query.py --index /tmp/kb-1812-idx --squad

Each run measures ``KnowledgeBase.search`` (embedding, retrieval, fusion) with
the query thread plan (kb/threads.py: one thread each) and with every library
on all cores (``KB_QUERY_THREADS=<cores>``, what the libraries do by default).
Set ``KB_E5_VARIANT=fp32 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2
ATEN_CPU_CAPABILITY=avx2`` to time the path of a CPU without bf16 (AVX2 only).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _questions(args: argparse.Namespace) -> list[str]:
    if args.questions:
        lines = Path(args.questions).read_text(encoding="utf-8").splitlines()
        return [json.loads(x)["question"] for x in lines if x.strip()]
    from corpora import paragraphs

    qs: list[str] = []
    for i, p in enumerate(paragraphs()):
        if i % 15 == 0 and p.questions:
            qs.append(p.questions[0])
    return qs


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def run_once(args: argparse.Namespace) -> dict[str, object]:
    import torch

    from kb import threads
    from kb.qa.service import KnowledgeBase
    from kb.settings import Settings

    qs = _questions(args)[: args.n]
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    kb = KnowledgeBase(Settings.from_env(index_dir=Path(args.index)))
    _ = kb.embedder, kb.second
    t_models = time.perf_counter() - t0
    t1 = time.perf_counter()
    kb.reload()
    t_open = time.perf_counter() - t1
    t2, c2 = time.perf_counter(), time.process_time()
    kb.search(qs[0])
    t_first = time.perf_counter() - t2
    first_cpu = time.process_time() - c2
    times, cpu = [], []
    for q in qs[1:]:
        t, c = time.perf_counter(), time.process_time()
        kb.search(q)
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return {
        "threads": threads.plan("query").to_dict(),
        "chunks": kb.index.manifest.counts.get("chunks"),
        "sentences": kb.index.manifest.counts.get("sentences"),
        "ann": kb.index.manifest.build.get("ann"),
        "runtime": str(getattr(kb.embedder, "runtime", "?")),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "onednn_max_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "(native)"),
        "load1_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "models_s": round(t_models, 2),
        "open_s": round(t_open, 3),
        "first_search_s": round(t_first, 3),
        "open_plus_first_s": round(t_open + t_first, 3),
        "searches": len(times),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(_pct(times, 0.95), 1),
        # CPU seconds of this process per search (all its threads): on a loaded
        # machine, with one thread, the closest proxy for idle-machine latency
        "cpu_p50_ms": round(statistics.median(cpu), 1),
        "cpu_p95_ms": round(_pct(cpu, 0.95), 1),
        "first_search_cpu_s": round(first_cpu, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--questions", help="gold .jsonl (default with --squad: KorQuAD+CMRC)")
    ap.add_argument("--squad", action="store_true", help="questions of benchmarks/corpora.py")
    ap.add_argument("-n", type=int, default=101, help="searches (the first is the cold one)")
    ap.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.once:
        print(json.dumps(run_once(args)))
        return
    from kb.threads import cores

    results = []
    for label, env in (
        ("query plan (1 thread)", {}),
        ("all cores", {"KB_QUERY_THREADS": str(cores())}),
    ):
        cmd = [sys.executable, __file__, "--once", "--index", args.index, "-n", str(args.n)]
        cmd += ["--questions", args.questions] if args.questions else ["--squad"]
        out = subprocess.run(
            cmd, env={**os.environ, **env}, capture_output=True, text=True, check=True
        ).stdout
        res = {"setting": label, **json.loads(out.strip().splitlines()[-1])}
        results.append(res)
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
