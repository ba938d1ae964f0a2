"""Search fusion weights offline over the signals ``dump_components.py`` saved.

Each NAME=PATH.npz is one evaluation set. Every weight combination of the grid
is scored on every set (R@1, R@5, MRR@10, ties counted against the relevant
item), and the combinations are ranked by their worst margin over the targets
given with --target NAME:METRIC:VALUE, so no single set decides. The current
defaults and reciprocal rank fusion are printed first for comparison.

    python benchmarks/fusion_grid.py dev=/tmp/c/dev.npz holdout=/tmp/c/holdout.npz \\
        korquad=/tmp/c/korquad.npz --target dev:r5:0.95 --target dev:mrr:0.80 \\
        --target holdout:r5:0.95 --target holdout:mrr:0.80 --target korquad:r1:0.93
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

from kb.settings import Settings  # noqa: E402

Data = dict[str, np.ndarray]
METRIC = {"r1": 0, "r5": 1, "mrr": 2}


def first_relevant_rank(data: Data, fused: np.ndarray) -> np.ndarray:
    """Rank of the first relevant item per question; an item is the chunk (gold)
    or the paragraph, scored by its best chunk (SQuAD)."""
    rel = data["rel"]
    if bool(data["per_doc"]):
        cd = data["chunk_doc"]
        n_docs = int(cd.max()) + 1
        doc_score = np.full((fused.shape[0], n_docs), -np.inf)
        doc_rel = np.zeros((fused.shape[0], n_docs), dtype=bool)
        for j in range(fused.shape[1]):
            doc_score[:, cd[j]] = np.maximum(doc_score[:, cd[j]], fused[:, j])
            doc_rel[:, cd[j]] |= rel[:, j]
        fused, rel = doc_score, doc_rel
    best = np.where(rel, fused, -np.inf).max(axis=1)
    return np.asarray(((fused >= best[:, None]) & ~rel).sum(axis=1) + 1)


def metrics(ranks: np.ndarray) -> tuple[float, float, float]:
    mrr = np.where(ranks <= 10, 1.0 / ranks, 0.0).mean()
    return float((ranks <= 1).mean()), float((ranks <= 5).mean()), float(mrr)


def weighted(data: Data, weights: dict[str, float]) -> np.ndarray:
    total = np.zeros(data["rel"].shape, dtype=np.float64)
    for name, w in weights.items():
        if w and name in data:
            total += w * data[name]
    return total


def rrf(data: Data, names: list[str], k: int = 60) -> np.ndarray:
    total = np.zeros(data["rel"].shape, dtype=np.float64)
    for name in names:
        order = np.argsort(-data[name], axis=1, kind="stable")
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(1, order.shape[1] + 1)[None, :], axis=1)
        total += 1.0 / (k + ranks)
    return total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("sets", nargs="+", help="NAME=PATH.npz")
    p.add_argument("--target", action="append", default=[], help="NAME:r1|r5|mrr:VALUE")
    p.add_argument("--grid", default="0,0.05,0.1,0.15,0.2,0.3,0.4", help="weight values")
    p.add_argument("--top", type=int, default=10)
    args = p.parse_args()
    sets = {}
    for spec in args.sets:
        name, path = spec.split("=", 1)
        with np.load(path) as z:
            sets[name] = {k: z[k] for k in z.files}
    targets = [(n, METRIC[m], float(v)) for n, m, v in (t.split(":") for t in args.target)]

    def row(label: str, results: dict[str, tuple[float, float, float]]) -> str:
        cells = " | ".join(" / ".join(f"{x:.3f}" for x in results[s]) for s in sets)
        return f"| {label} | {cells} |"

    def score(weights: dict[str, float]) -> dict[str, tuple[float, float, float]]:
        return {s: metrics(first_relevant_rank(d, weighted(d, weights))) for s, d in sets.items()}

    print("| fusion | " + " | ".join(f"{s} R@1 / R@5 / MRR@10" for s in sets) + " |")
    print("| --- |" + " ---: |" * len(sets))
    current = Settings().weights
    print(row(f"defaults {current}", score(current)))
    names = [n for n in current if all(n in d for d in sets.values())]
    print(
        row(
            "RRF (k=60) of " + ", ".join(names),
            {s: metrics(first_relevant_rank(d, rrf(d, names))) for s, d in sets.items()},
        )
    )
    grid = [float(x) for x in args.grid.split(",")]
    ranked = []
    # the sentence weight is fixed at 0.3: only ratios matter
    others = [n for n in names if n != "sentence"]
    for combo in itertools.product(grid, repeat=len(others)):
        w = {"sentence": 0.3, **dict(zip(others, combo, strict=True))}
        res = score(w)
        margin = min((res[n][m] - v for n, m, v in targets), default=0.0)
        ranked.append((margin, w, res))
    ranked.sort(key=lambda t: -t[0])
    for margin, w, res in ranked[: args.top]:
        print(row(f"margin {margin:+.3f} {w}", res))


if __name__ == "__main__":
    main()
