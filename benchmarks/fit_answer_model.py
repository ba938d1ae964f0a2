"""Fit the answer model (a ranker and an abstainer over candidate features) on a
gold development set, choose its threshold from the curve of answered-correctly
against abstained-correctly, and write src/kb/data/answer_model.json.

    python benchmarks/fit_answer_model.py evaluation/gold/corpus_dev.jsonl \
        evaluation/gold/corpus_dev2.jsonl --out eval-out/answer-model [--write]

The ranker (a conditional logit over each question's candidates) learns from the
candidates labelled positive: the question is answerable and the sentence (or, for
a list's lead-in or item, its list) holds the question's gold evidence. The
abstainer (a logistic regression) learns whether the answer built from the
best-ranked candidate holds one of the question's answer keys. The threshold is
the one that, on the development set, keeps false abstentions at or under
--max-false-abstention (0.05) and, among those, abstains on the most unanswerable
questions, then answers the most questions correctly. Only the development set is
read: the holdout stays unseen until `kb eval`.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import logging
import math
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from kb.evaluation.answers import contains_key, holds_evidence
from kb.evaluation.datasets import EvalQuery, load_gold
from kb.evaluation.runner import prepare_index
from kb.ingest.chunk import ChunkerConfig
from kb.models.embed import Embedder, load_embedder
from kb.models.second_encoder import load_second_encoder
from kb.qa.calibration import (
    AnswerModel,
    Linear,
    fit_conditional_logit,
    fit_logistic,
    question_features,
    sigmoid,
)
from kb.qa.evidence import FEATURES, Candidate
from kb.qa.extract import extract
from kb.qa.extractive import ExtractiveAnswerer
from kb.qa.lexicon import Lexicon
from kb.qa.pipeline import Encoders, PipelineOptions, build_pipeline
from kb.qa.question import Question, analyze
from kb.settings import Settings

# the abstainer reads the best candidate's ranker score, share and margin, and how
# well it matches the question's names, model, figure and words
ABSTAIN_FEATURES = (
    "rank_score",
    "rank_share",
    "rank_margin",
    "cosine",
    "second",
    "names",
    "subject",
    "figure",
    "topic",
)
MODEL_PATH = Path(__file__).resolve().parents[1] / "src" / "kb" / "data" / "answer_model.json"


def positive(c: Candidate, q: EvalQuery) -> bool:
    """The candidate holds the gold evidence (evidence strings are file text, so the
    sentence is compared as the file has it, markup included, and as cleaned)."""
    if not q.answerable:
        return False
    chunk = c.hit.chunk
    sentences = [c.sentence]
    if c.block is not None and c.sentence.role in ("lead", "item"):
        sentences += list(c.block.items)
    texts = [s.text for s in sentences]
    texts += [chunk.raw[s.start - chunk.start : s.end - chunk.start] for s in sentences]
    if c.block is not None and c.sentence.role in ("lead", "item"):
        texts.append(c.block.raw)
    return any(holds_evidence(t, q.evidence) for t in texts)


@dataclasses.dataclass
class Collected:
    """Every development question's candidates: their feature rows, labels (the
    candidate holds the gold evidence), and per question its rows and the gold
    file it came from."""

    answerer: ExtractiveAnswerer
    lexicon: Lexicon
    embedder: Embedder
    rows: list[list[float]]
    labels: list[int]
    per_question: list[tuple[EvalQuery, np.ndarray, list[Candidate], Question]]
    source: list[str]  # per question: its gold file's name


def collect(gold: list[Path], work: Path, settings: Settings) -> Collected:
    """Index the gold sets' corpus (cached in ``work``) and build every question's
    candidates with the app's retriever and evidence finder."""
    evalset = load_gold(gold[0])
    source = [gold[0].name] * len(evalset.queries)
    for extra in gold[1:]:  # further development sets: their questions join the first's
        more = load_gold(extra).queries
        clash = {q.qid for q in more} & {q.qid for q in evalset.queries}
        if clash:
            raise SystemExit(f"error: {extra}: ids already used: {', '.join(sorted(clash)[:5])}")
        evalset.queries.extend(more)
        source += [extra.name] * len(more)
    embedder = load_embedder(
        settings.model, settings.batch_size, settings.model_cache_dir, settings.e5_variant
    )
    second = load_second_encoder(settings.second_model)
    chunker = ChunkerConfig(settings.chunk_size, settings.chunk_overlap)
    index, _, _ = prepare_index(evalset, settings, embedder, work, chunker, second=second)
    # the answerer only for its candidates; scoring happens in the caller (the
    # packaged answer model may have been fitted on other features: not checked)
    pipeline = build_pipeline(
        index,
        Encoders(embedder, second),
        PipelineOptions.from_settings(settings, check_features=False),
    )
    retriever, answerer = pipeline.retriever, pipeline.answerer
    assert answerer is not None
    rows: list[list[float]] = []
    labels: list[int] = []
    per_question: list[tuple[EvalQuery, np.ndarray, list[Candidate], Question]] = []
    for q in evalset.queries:
        retrieval = retriever.retrieve(q.text, settings.answer_depth)
        question = analyze(q.text, retriever.lexicon)
        cands = answerer.finder.candidates(question, retrieval)
        first = len(rows)
        for c in cands:
            rows.append([c.features.get(f, 0.0) for f in FEATURES])
            labels.append(int(positive(c, q)))
        per_question.append((q, np.arange(first, len(rows)), cands, question))
    return Collected(answerer, retriever.lexicon, embedder, rows, labels, per_question, source)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("gold", type=Path, nargs="+", help="the development gold set(s) (JSON Lines)")
    ap.add_argument("--out", type=Path, default=Path("eval-out/answer-model"))
    ap.add_argument("--work", type=Path, default=Path(".kb_cache/fit-answer-model"))
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--max-false-abstention", type=float, default=0.05)
    ap.add_argument("--write", action="store_true", help=f"write {MODEL_PATH}")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    settings = Settings.from_env()
    data = collect(args.gold, args.work, settings)
    answerer, lexicon, embedder = data.answerer, data.lexicon, data.embedder
    rows, labels, per_question = data.rows, data.labels, data.per_question
    x = np.asarray(rows)
    y = np.asarray(labels)
    w, mean, scale = fit_conditional_logit(x, [g for _, g, _, _ in per_question], y, l2=args.l2)
    ranker = Linear(
        FEATURES,
        tuple(round(float(v), 6) for v in w),
        tuple(round(float(v), 6) for v in mean),
        tuple(round(float(v), 6) for v in scale),
    )

    # the abstainer: is answering from the best-ranked candidate right?
    abstain_rows: list[list[float]] = []
    abstain_labels: list[int] = []
    tops: list[tuple[EvalQuery, Candidate | None, list[float], bool]] = []
    for q, g, cands, question in per_question:
        if not len(g):
            tops.append((q, None, [], False))
            continue
        scores = [ranker.score(c.features) for c in cands]
        order = sorted(range(len(cands)), key=lambda i: -scores[i])
        top = cands[order[0]]
        total = sum(math.exp(scores[i] - scores[order[0]]) for i in order)
        scored = [(math.exp(scores[i] - scores[order[0]]) / total, cands[i]) for i in order]
        extracted = extract(question, scored, lexicon)
        if extracted is None:  # the type's extraction abstains whatever the model says
            tops.append((q, None, [], False))
            continue
        text = answerer.compose(question, extracted, 1.0).text
        right = bool(q.answer_keys) and contains_key(text, q.answer_keys)
        if q.answerable and not q.answer_keys:
            right = positive(top, q)
        feats = {**top.features, **question_features(scores)}
        abstain_rows.append([feats.get(f, 0.0) for f in ABSTAIN_FEATURES])
        abstain_labels.append(int(q.answerable and right))
        tops.append((q, top, scores, right))
    aw, ab, amean, ascale = fit_logistic(
        np.asarray(abstain_rows), np.asarray(abstain_labels), l2=args.l2
    )
    abstainer = Linear(
        ABSTAIN_FEATURES,
        tuple(round(float(v), 6) for v in aw),
        tuple(round(float(v), 6) for v in amean),
        tuple(round(float(v), 6) for v in ascale),
        round(ab, 6),
    )
    points = []
    for q, best_c, scores, right in tops:
        if best_c is None:
            points.append((q, -1.0, False))
            continue
        conf = sigmoid(abstainer.score({**best_c.features, **question_features(scores)}))
        points.append((q, conf, right))
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
    threshold = round(float(np.median(same)), 4)

    model = AnswerModel(
        ranker=ranker,
        abstainer=abstainer,
        threshold=threshold,
        fitted_on={
            "gold": [g.name for g in args.gold],
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
