"""How far the answer ranker's first pick is from the evidence, and how far any
ranker over today's candidate features could go: leave-one-gold-file-out.

    python benchmarks/ranker_cv.py evaluation/gold/corpus_dev.jsonl \
        evaluation/gold/corpus_dev2.jsonl ... --out eval-out/ranker-cv.json

For each gold file, the ranker (the conditional logit of fit_answer_model.py) is
fitted on the other files and scores the held-out file's candidates. Over the
answerable questions that have candidates it reports the share whose top 1, 2 and
3 candidates' passages hold the gold evidence (first citation is the top 1), the
same for the packaged ranker (``src/kb/data/answer_model.json``, fitted on some of
these files, so in-sample for those) and the ceiling: some candidate's passage
holds it. By question type (kb's analysis of the question). Development sets
only: the holdout stays unseen.

``--curve 0.25,0.5,1`` adds a learning curve: the same leave-one-file-out top 1
with the ranker fitted on that share of the other files' questions (a random
draw, averaged over three seeds). A flat curve says more gold questions of the
same kind would not move the first pick: the features would have to change.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from fit_answer_model import Collected, collect

from kb.evaluation.evidence_text import contains_evidence
from kb.qa.calibration import fit_conditional_logit, load_answer_model
from kb.qa.evidence import FEATURES
from kb.settings import Settings

DEPTHS = (1, 2, 3)


def held_out_scores(data: Collected, l2: float, share: float = 1.0, seed: int = 0) -> np.ndarray:
    """Every candidate's score from the ranker fitted without its question's file
    (on ``share`` of the other files' questions, drawn with ``seed``)."""
    x = np.asarray(data.rows, dtype=float)
    y = np.asarray(data.labels)
    out = np.zeros(len(x))
    for name in dict.fromkeys(data.source):
        train = [
            g for (_, g, _, _), s in zip(data.per_question, data.source, strict=True) if s != name
        ]
        if share < 1.0:
            train = random.Random(seed).sample(train, max(1, round(len(train) * share)))
        w, mean, scale = fit_conditional_logit(x, train, y, l2=l2)
        for (_, g, _, _), s in zip(data.per_question, data.source, strict=True):
            if s == name and len(g):
                out[g] = ((x[g] - mean) / scale) @ w
    return out


def tally(data: Collected, scores: np.ndarray) -> dict[str, dict[str, float]]:
    """Per question type and overall: questions, top-k passage hit rates, ceiling."""
    counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for q, g, cands, question in data.per_question:
        if not q.answerable or not len(g) or not q.evidence:
            continue
        holds = [contains_evidence(c.hit.chunk, q.evidence) for c in cands]
        order = np.argsort(-scores[g], kind="stable")
        for key in ("all", question.qtype):
            row = counts[key]
            row["questions"] += 1
            row["ceiling"] += any(holds)
            for k in DEPTHS:
                row[f"top{k}"] += any(holds[i] for i in order[:k])
    return {
        key: {
            "questions": int(row["questions"]),
            **{m: round(row[m] / row["questions"], 3) for m in row if m != "questions"},
        }
        for key, row in sorted(counts.items(), key=lambda kv: (kv[0] != "all", kv[0]))
    }


def learning_curve(
    data: Collected, l2: float, shares: list[float], seeds: int = 3
) -> dict[str, dict[str, float]]:
    """Per training share: the mean leave-one-file-out top 1, overall and by type."""
    curve: dict[str, dict[str, float]] = {}
    for share in shares:
        runs = [tally(data, held_out_scores(data, l2, share, seed)) for seed in range(seeds)]
        curve[f"{share:g}"] = {
            qtype: round(sum(run[qtype]["top1"] for run in runs) / len(runs), 3)
            for qtype in runs[0]
        }
    return curve


def shares_arg(text: str) -> list[float]:
    try:
        shares = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        shares = []
    if not shares or any(not 0.0 < v <= 1.0 for v in shares):
        raise argparse.ArgumentTypeError("give shares in (0, 1], e.g. 0.25,0.5,1")
    return shares


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("gold", type=Path, nargs="+", help="development gold sets (JSON Lines)")
    ap.add_argument("--out", type=Path, default=Path("eval-out/ranker-cv.json"))
    ap.add_argument("--work", type=Path, default=Path(".kb_cache/fit-answer-model"))
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument(
        "--curve", type=shares_arg, default=None, help="training shares, e.g. 0.25,0.5,0.75,1"
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if len(args.gold) < 2:
        raise SystemExit("error: give at least two gold files (one is held out at a time)")
    data = collect(args.gold, args.work, Settings.from_env())
    packaged = load_answer_model(expected=FEATURES)
    feats = [c.features for _, _, cands, _ in data.per_question for c in cands]
    tables = {
        "leave_one_file_out": tally(data, held_out_scores(data, args.l2)),
        "packaged": tally(data, np.asarray(packaged.rank(feats))),
    }
    report: dict[str, object] = {
        "gold": [g.name for g in args.gold],
        "features": list(FEATURES),
        **tables,
    }
    if args.curve:
        report["learning_curve"] = curve = learning_curve(data, args.l2, args.curve)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print("| ranker | type | questions | top 1 | top 2 | top 3 | ceiling |")
    print("|---|---|---|---|---|---|---|")
    for name, table in tables.items():
        for qtype, row in table.items():
            cells = " | ".join(f"{row[m]:.3f}" for m in ("top1", "top2", "top3", "ceiling"))
            print(f"| {name} | {qtype} | {row['questions']} | {cells} |")
    if args.curve:
        types = list(next(iter(curve.values())))
        print("\n| training share | " + " | ".join(types) + " |")
        print("|---" * (len(types) + 1) + "|")
        for share, row in curve.items():
            print(f"| {share} | " + " | ".join(f"{row[t]:.3f}" for t in types) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
