"""Dump every fusion signal for every question, for offline weight search.

For one evaluation set (gold JSONL or SQuAD JSON) this builds or reuses the
scratch index that ``kb eval --work DIR`` uses, runs the hybrid retriever over
all chunks and stores, per question and chunk, each signal exactly as the
fusion sees it (scaled to [0, 1]: ``dense``, ``sentence``, ``lexical``,
``entity``, ``second``) and which chunks are relevant. ``fusion_grid.py`` then
ranks with any weights without running a model again.

    python benchmarks/dump_components.py ../shared/benchmarks/korquad_v1_dev.json \\
        --work /tmp/kbeval/kq --out /tmp/kbeval/comp/korquad.npz
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

from kb.evaluation.command import BENCHMARK_CHUNK_OVERLAP, BENCHMARK_CHUNK_SIZE  # noqa: E402
from kb.evaluation.datasets import load_eval_set  # noqa: E402
from kb.evaluation.runner import prepare_index  # noqa: E402
from kb.ingest.chunk import ChunkerConfig  # noqa: E402
from kb.models.embed import load_embedder  # noqa: E402
from kb.models.second_encoder import load_second_encoder  # noqa: E402
from kb.qa.pipeline import Encoders, PipelineOptions, build_pipeline  # noqa: E402
from kb.qa.retrieve import SIGNALS  # noqa: E402
from kb.settings import Settings  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("dataset", type=Path)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--model", default=None, help="embedding model (default: KB_MODEL or auto)")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--no-titles", dest="titles", action="store_false")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    es = load_eval_set(args.dataset, titles=args.titles)
    gold = es.format == "gold"
    settings = Settings.from_env(model=args.model)
    if not gold:
        settings = settings.replace(
            chunk_size=BENCHMARK_CHUNK_SIZE, chunk_overlap=BENCHMARK_CHUNK_OVERLAP
        )
    chunker = ChunkerConfig(chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap)
    emb = load_embedder(
        settings.model, settings.batch_size, settings.model_cache_dir, settings.e5_variant
    )
    second = load_second_encoder(settings.second_model)
    index, info, _ = prepare_index(es, settings, emb, args.work, chunker, second=second)
    logging.info("index %s: %d chunks", info.path, info.chunks)
    queries = [q for q in (es.queries[: args.limit] if args.limit else es.queries) if q.qrels]
    # every signal at weight 1, so each one is computed
    options = PipelineOptions.from_settings(
        settings, weights=dict.fromkeys(SIGNALS, 1.0), lexicon_dir=None, answer=False
    )
    ret = build_pipeline(index, Encoders(emb, second), options).retriever
    n = len(index.chunks)
    out = {name: np.zeros((len(queries), n), dtype=np.float32) for name in SIGNALS}
    rel = np.array([[es.is_relevant(c, q) for c in index.chunks] for q in queries], dtype=bool)
    for i, q in enumerate(queries):
        for h in ret.retrieve(q.text, n).hits:
            for name, v in h.scores.items():
                out[name][i, h.row] = v
        if i % 500 == 0:
            logging.info("%d/%d", i, len(queries))
    doc_rows: dict[str, int] = {}
    chunk_doc = np.array([doc_rows.setdefault(c.doc_id, len(doc_rows)) for c in index.chunks])
    arrays: dict[str, np.ndarray] = {
        **out,
        "rel": rel,
        "chunk_doc": chunk_doc,
        "q_lang": np.array([q.lang for q in queries]),
        "per_doc": np.array(not gold),  # SQuAD: the item is the paragraph, not the chunk
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)  # type: ignore[arg-type]
    logging.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
