"""Fit the answer model (logistic regression over candidate features) on a gold
development set, choose its threshold from the curve of answered-correctly against
abstained-correctly, and write src/kb/data/answer_model.json.

    python benchmarks/fit_answer_model.py evaluation/gold/corpus_dev.jsonl \
        --out eval-out/answer-model [--write]

A candidate sentence is labelled positive when the question is answerable and the
sentence (or, for a list's lead-in or item, its list) holds the question's gold
evidence. The threshold is the one that, on the development set, keeps false
abstentions at or under --max-false-abstention (0.05) and, among those, abstains on
the most unanswerable questions, then answers the most questions correctly. Only
the development set is read: the holdout stays unseen until `kb eval`.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from kb.evaluation.answers import contains_key, holds_evidence
from kb.evaluation.datasets import EvalQuery, load_gold
from kb.evaluation.runner import prepare_index
from kb.index.embed import load_embedder
from kb.index.second_encoder import load_second_encoder
from kb.ingest.chunk import ChunkerConfig
from kb.qa.calibration import AnswerModel, fit_logistic, load_answer_model
from kb.qa.evidence import FEATURES, Candidate
from kb.qa.extract import extract
from kb.qa.extractive import ExtractiveAnswerer
from kb.qa.lexicon import load_lexicon
from kb.qa.question import Question, analyze
from kb.qa.retrieve import HybridRetriever
from kb.settings import Settings

MODEL_PATH = Path(__file__).resolve().parents[1] / "src" / "kb" / "data" / "answer_model.json"


def positive(c: Candidate, q: EvalQuery) -> bool:
    if not q.answerable:
        return False
    texts = [c.sentence.text]
    if c.block is not None and c.sentence.role in ("lead", "item"):
        texts += [s.text for s in c.block.items]
    return any(holds_evidence(t, q.evidence) for t in texts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("gold", type=Path, help="the development gold set (JSON Lines)")
    ap.add_argument("--out", type=Path, default=Path("eval-out/answer-model"))
    ap.add_argument("--work", type=Path, default=Path(".kb_cache/fit-answer-model"))
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--max-false-abstention", type=float, default=0.05)
    ap.add_argument("--write", action="store_true", help=f"write {MODEL_PATH}")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    settings = Settings.from_env()
    evalset = load_gold(args.gold)
    embedder = load_embedder(settings.model, settings.batch_size)
    second = load_second_encoder(settings.second_model)
    chunker = ChunkerConfig(settings.chunk_size, settings.chunk_overlap)
    index, _, _ = prepare_index(evalset, settings, embedder, args.work, chunker, second=second)
    lexicon = load_lexicon(settings.corpus_dir)
    retriever = HybridRetriever(
        index, embedder, weights=settings.weights, second=second, lexicon=lexicon
    )
    # the answerer only for its candidates; scoring happens here
    answerer = ExtractiveAnswerer(index.tokenizer, lexicon, load_answer_model(), settings.top_k)

    rows: list[list[float]] = []
    labels: list[int] = []
    per_question: list[tuple[EvalQuery, list[int], list[Candidate], Question]] = []
    for q in evalset.queries:
        retrieval = retriever.retrieve(q.text, settings.top_k)
        question = analyze(q.text, lexicon)
        cands = answerer.finder.candidates(question, retrieval)
        idx = []
        for c in cands:
            idx.append(len(rows))
            rows.append([c.features[f] for f in FEATURES])
            labels.append(int(positive(c, q)))
        per_question.append((q, idx, cands, question))
    x = np.asarray(rows)
    y = np.asarray(labels)
    w, b, mean, scale = fit_logistic(x, y, l2=args.l2)
    probs = 1.0 / (1.0 + np.exp(-(((x - mean) / scale) @ w + b)))

    # per question: the best candidate's probability and whether its answer is right
    points = []
    for q, idx, cands, question in per_question:
        if not idx:
            points.append((q, -1.0, False))
            continue
        order = sorted(range(len(idx)), key=lambda i: -probs[idx[i]])
        scored = [(float(probs[idx[i]]), cands[i]) for i in order]
        ex = extract(question, scored, lexicon)
        text = answerer.compose(question, ex, scored[0][0]).text
        right = bool(q.answer_keys) and contains_key(text, q.answer_keys)
        points.append((q, scored[0][0], right))
    answerable = [p for p in points if p[0].answerable]
    keyed = [p for p in answerable if p[0].answer_keys]
    unanswerable = [p for p in points if not p[0].answerable]
    curve = []
    for t in np.round(np.arange(0.02, 0.99, 0.01), 2):
        curve.append(
            {
                "threshold": float(t),
                "answered_correctly": sum(p[1] >= t and p[2] for p in keyed) / max(1, len(keyed)),
                "false_abstention": sum(p[1] < t for p in answerable) / max(1, len(answerable)),
                "abstained_correctly": sum(p[1] < t for p in unanswerable)
                / max(1, len(unanswerable)),
            }
        )
    ok = [c for c in curve if c["false_abstention"] <= args.max_false_abstention] or curve[:1]
    best = max(ok, key=lambda c: (c["abstained_correctly"], c["answered_correctly"]))
    # the middle of the run of thresholds that score the same (robust to small shifts)
    same = [
        c["threshold"]
        for c in ok
        if (c["abstained_correctly"], c["answered_correctly"])
        == (best["abstained_correctly"], best["answered_correctly"])
    ]
    threshold = float(np.median(same))

    model = AnswerModel(
        features=FEATURES,
        weights=tuple(round(float(v), 6) for v in w),
        bias=round(b, 6),
        threshold=threshold,
        mean=tuple(round(float(v), 6) for v in mean),
        scale=tuple(round(float(v), 6) for v in scale),
        fitted_on={
            "gold": args.gold.name,
            "questions": len(points),
            "candidates": len(rows),
            "positives": int(y.sum()),
            "l2": args.l2,
            "model": embedder.model_id,
            "threshold_rule": f"false abstention <= {args.max_false_abstention}, then most "
            "unanswerable abstained, then most answered correctly (dev)",
            "at_threshold": {k: round(v, 4) for k, v in best.items()},
            "date": datetime.now(UTC).date().isoformat(),
        },
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "answer_model.json").write_text(model.to_json() + "\n", encoding="utf-8")
    with open(args.out / "threshold_curve.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(curve[0]))
        writer.writeheader()
        writer.writerows(curve)
    _plot(curve, threshold, args.out / "threshold_curve.png")
    if args.write:
        MODEL_PATH.write_text(model.to_json() + "\n", encoding="utf-8")
    print(json.dumps({**dataclasses.asdict(model), "curve_at": best}, ensure_ascii=False, indent=1))
    return 0


def _plot(curve: list[dict[str, float]], threshold: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ts = [c["threshold"] for c in curve]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(ts, [c["answered_correctly"] for c in curve], label="answerable: answered correctly")
    ax.plot(ts, [c["abstained_correctly"] for c in curve], label="unanswerable: abstained")
    ax.plot(ts, [c["false_abstention"] for c in curve], label="answerable: abstained (false)")
    ax.axvline(threshold, color="grey", linestyle="--", label=f"chosen {threshold:.2f}")
    ax.set_xlabel("answer-model threshold")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Abstention threshold on the development gold set")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
