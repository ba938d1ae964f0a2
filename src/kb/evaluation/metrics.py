"""Ranking metrics through ranx, overall and per group, plus latency summaries.

A run here is ``qid -> ranked list of item ids`` (best first, already
de-duplicated); ranx wants scores, so rank ``r`` (from 1) gets ``1 / r``.
Queries without any relevant item (unanswerable) must be left out by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
_EMPTY = "__no_hit__"


def dedupe(items: Iterable[str]) -> list[str]:
    """Items in order, each kept at its first (best) rank."""
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def evaluate(
    qrels: Mapping[str, Mapping[str, int]],
    run: Mapping[str, Sequence[str]],
    metrics: Sequence[str] = METRICS,
) -> dict[str, float]:
    """Mean of each metric over the queries of ``qrels`` (each needs a relevant item)."""
    from ranx import Qrels, Run
    from ranx import evaluate as ranx_evaluate

    qids = [q for q in qrels if any(g > 0 for g in qrels[q].values())]
    if not qids:
        return {m: float("nan") for m in metrics}
    q = Qrels({qid: {d: int(g) for d, g in qrels[qid].items() if g > 0} for qid in qids})
    r = Run(
        {
            qid: {item: 1.0 / rank for rank, item in enumerate(dedupe(run.get(qid, ())), start=1)}
            or {_EMPTY: 0.0}
            for qid in qids
        }
    )
    scores = ranx_evaluate(q, r, list(metrics), make_comparable=True)
    if isinstance(scores, dict):
        return {m: float(scores[m]) for m in metrics}
    return {metrics[0]: float(scores)}  # ranx returns a bare number for one metric


def evaluate_by_group(
    qrels: Mapping[str, Mapping[str, int]],
    run: Mapping[str, Sequence[str]],
    group_of: Mapping[str, str],
    metrics: Sequence[str] = METRICS,
) -> dict[str, dict[str, float]]:
    """``evaluate`` per group (e.g. question language); each result has ``n`` too."""
    groups: dict[str, list[str]] = {}
    for qid in qrels:
        groups.setdefault(group_of.get(qid, "?"), []).append(qid)
    out: dict[str, dict[str, float]] = {}
    for g in sorted(groups):
        sub = {qid: qrels[qid] for qid in groups[g]}
        out[g] = {"n": float(len(sub)), **evaluate(sub, run, metrics)}
    return out


def first_relevant_rank(ranked: Sequence[str], relevant: Mapping[str, int]) -> int | None:
    for rank, item in enumerate(ranked, start=1):
        if relevant.get(item, 0) > 0:
            return rank
    return None


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p95 and mean in milliseconds."""
    if not seconds:
        return {"p50": float("nan"), "p95": float("nan"), "mean": float("nan")}
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    return {
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "mean": float(ms.mean()),
    }


def rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None
