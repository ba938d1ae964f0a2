"""Sentence vectors pooled from the chunk's forward pass against a pass per sentence.

On the first N KorQuAD dev articles (one Markdown file each, read at run time
from ../shared/benchmarks, chunked with the app's settings): the time to embed
chunks and then every sentence separately (what the build does today) against
one pass per chunk with sentence vectors mean-pooled from its token states
(kb/index/pooled.py); the cosine between the two kinds of sentence vector; and
retrieval quality for the articles' questions, over all sentences of the
corpus: hit@1 and MRR@10 of a sentence containing the answer, and hit@1 of the
answer's chunk when chunks are ranked by their best sentence.

    python benchmarks/bench_pooled.py --articles 20 --variant fp32
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_corpora import read_articles, write_articles

from kb.index.fields import chunk_embed_text, sentence_embed_text
from kb.index.pooled import PooledText, encode_pooled, locate
from kb.ingest.chunk import chunk_document
from kb.ingest.load import load_corpus
from kb.models.embed import ConvertedE5Embedder
from kb.qa.service import chunker_config
from kb.settings import Settings


def _metrics(
    qv: np.ndarray,
    sv: np.ndarray,
    gold: list[set[int]],
    sent_chunk: np.ndarray,
    gold_chunk: list[set[int]],
) -> dict[str, float]:
    scores = qv @ sv.T
    hit1 = mrr = chunk1 = 0.0
    for q in range(len(qv)):
        top = np.argsort(-scores[q])[:10]
        hit1 += float(int(top[0]) in gold[q])
        for r, s in enumerate(top):
            if int(s) in gold[q]:
                mrr += 1.0 / (r + 1)
                break
        chunk1 += float(int(sent_chunk[top[0]]) in gold_chunk[q])
    n = max(len(qv), 1)
    return {
        "sentence_hit1": hit1 / n,
        "sentence_mrr10": mrr / n,
        "chunk_hit1_by_best_sentence": chunk1 / n,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=20)
    ap.add_argument("--variant", default="fp32")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="kb-bench-pooled-") as tmp:
        written = write_articles(Path(tmp) / "c", ("korquad_v1_dev.json",), args.articles)
        docs, _ = load_corpus(written.folder)
        cfg = chunker_config(Settings(corpus_dir=written.folder))
        chunks = [c for d in sorted(docs, key=lambda d: d.source) for c in chunk_document(d, cfg)]
    emb = ConvertedE5Embedder(variant=args.variant)
    emb.encode_passages(["warm up"])
    prefix = emb.prompts["passage"]

    chunk_texts = [chunk_embed_text(c) for c in chunks]
    sent_texts = [sentence_embed_text(c, s) for c in chunks for s in c.sentences]
    sent_chunk = np.asarray([i for i, c in enumerate(chunks) for _ in c.sentences])
    t0 = time.perf_counter()
    emb.encode_passages(chunk_texts)
    t_chunks = time.perf_counter() - t0
    t0 = time.perf_counter()
    separate = emb.encode_passages(sent_texts)
    t_sents = time.perf_counter() - t0

    items = []
    for c, text in zip(chunks, chunk_texts, strict=True):
        body = len(text) - len(c.text)
        items.append(PooledText(text, locate(text, [s.text for s in c.sentences], start=body)))
    model: Any = emb._model
    t0 = time.perf_counter()
    pooled = encode_pooled(model[0].auto_model, model.tokenizer, items, prefix)
    sv = pooled.sentence_vectors.copy()
    if pooled.missing:
        sv[list(pooled.missing)] = emb.encode_passages([sent_texts[i] for i in pooled.missing])
    t_pooled = time.perf_counter() - t0

    # questions of these articles; gold = sentences / chunks holding the answer
    arts = read_articles("korquad_v1_dev.json")[: args.articles]
    data = json.loads(
        (Path("/work/shared/benchmarks") / "korquad_v1_dev.json").read_text(encoding="utf-8")
    )
    sents = [(i, s.text) for i, c in enumerate(chunks) for s in c.sentences]
    qs: list[str] = []
    gold: list[set[int]] = []
    gold_chunk: list[set[int]] = []
    titles = {a.title for a in arts}
    for art in data["data"][: args.articles]:
        if art["title"] not in titles:
            continue
        for p in art["paragraphs"]:
            for qa in p["qas"]:
                answer = str(qa["answers"][0]["text"])
                g = {
                    k
                    for k, (ci, t) in enumerate(sents)
                    if answer in t and chunks[ci].title.startswith(art["title"])
                }
                if g:
                    qs.append(str(qa["question"]))
                    gold.append(g)
                    gold_chunk.append({sents[k][0] for k in g})
    qv = emb.encode_queries(qs)
    cos = np.sum(separate * sv, axis=1)
    result = {
        "articles": args.articles,
        "variant": args.variant,
        "chunks": len(chunks),
        "sentences": len(sent_texts),
        "pooled_missing_fallback": len(pooled.missing),
        "questions": len(qs),
        "seconds": {
            "chunks": round(t_chunks, 1),
            "sentences_separately": round(t_sents, 1),
            "chunks_plus_sentences": round(t_chunks + t_sents, 1),
            "pooled_one_pass": round(t_pooled, 1),
        },
        "speedup_embedding": round((t_chunks + t_sents) / t_pooled, 2),
        "cosine_pooled_vs_separate": {
            "mean": round(float(cos.mean()), 4),
            "p5": round(float(np.percentile(cos, 5)), 4),
        },
        "separate": _metrics(qv, separate, gold, sent_chunk, gold_chunk),
        "pooled": _metrics(qv, sv, gold, sent_chunk, gold_chunk),
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
