"""int8 dynamic quantization for build-time passage embedding: speed, cosine to
fp32, and retrieval with int8 passages against fp32 questions.

Texts are what the build embeds since issue 11: the sentences of KorQuAD and
CMRC dev paragraphs (read at run time from /work/shared/benchmarks); each
paragraph's vector is the length-weighted mean of its sentence vectors (the
``weighted`` chunk recipe, kb/index/chunk_vectors.py). Questions are always
encoded by the fp32 model. Variants:

* ``fp32``: the converted model as is;
* ``int8``: ``torch.ao.quantization.quantize_dynamic`` on every Linear of the encoder;
* ``int8-ffn``: only the feed-forward Linears (intermediate and output dense),
  attention in fp32.

    python benchmarks/bench_quant.py --paragraphs 120 --questions 200   # with the AVX2 env
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_embed import load_corpus

from kb.ingest.chunk import split_sentences
from kb.models.embed import ConvertedE5Embedder


def quantize(emb: ConvertedE5Embedder, variant: str) -> None:
    import torch

    hf: Any = emb._model[0].auto_model
    quant: Any = torch.ao.quantization.quantize_dynamic
    if variant == "int8":
        quant(hf.encoder, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    elif variant == "int8-ffn":
        for layer in hf.encoder.layer:
            layer.intermediate = quant(layer.intermediate, {torch.nn.Linear}, dtype=torch.qint8)
            layer.output = quant(layer.output, {torch.nn.Linear}, dtype=torch.qint8)


def paragraph_vectors(
    sent: np.ndarray, owners: list[int], weights: list[int], n: int
) -> np.ndarray:
    out = np.zeros((n, sent.shape[1]))
    for row, (p, w) in enumerate(zip(owners, weights, strict=True)):
        out[p] += w * sent[row]
    unit: np.ndarray = out / np.linalg.norm(out, axis=1, keepdims=True)
    return unit


def main(argv: list[str] | None = None) -> int:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paragraphs", type=int, default=120)
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--variants", default="fp32,int8,int8-ffn")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    corpus = load_corpus(args.paragraphs, args.questions, 1500)
    sentences, owners, weights = [], [], []
    for p, text in enumerate(corpus.paragraphs):
        for a, b in split_sentences(text):
            sentences.append(text[a:b])
            owners.append(p)
            weights.append(b - a)
    base = ConvertedE5Embedder(variant="fp32")
    questions = base.encode_queries(corpus.questions)
    gold = np.asarray(corpus.gold)
    results: dict[str, Any] = {
        "paragraphs": len(corpus.paragraphs),
        "sentences": len(sentences),
        "questions": len(corpus.questions),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
        "variants": {},
    }
    ref: np.ndarray | None = None
    ref_top: np.ndarray | None = None
    for variant in args.variants.split(","):
        emb = ConvertedE5Embedder(variant="fp32")
        emb._encoder = type(emb._encoder)(emb._model, batch_size=16)
        if variant != "fp32":
            quantize(emb, variant)
        emb.encode_passages(["warm up"])
        t0, c0 = time.perf_counter(), time.process_time()
        vecs = emb.encode_passages(sentences)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        paras = paragraph_vectors(vecs, owners, weights, len(corpus.paragraphs))
        scores = questions @ paras.T
        top = np.argsort(-scores, axis=1)[:, :5]
        row: dict[str, Any] = {
            "seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 2),
            "sentences_per_s": round(len(sentences) / wall, 1),
            "R@1": round(float(np.mean(top[:, 0] == gold)), 3),
            "R@5": round(float(np.mean([g in t for g, t in zip(gold, top, strict=True)])), 3),
        }
        if ref is None:
            ref, ref_top = vecs, top
        else:
            assert ref_top is not None
            cos = np.sum(ref * vecs, axis=1)
            row.update(
                cos_min=round(float(cos.min()), 4),
                cos_p5=round(float(np.percentile(cos, 5)), 4),
                cos_mean=round(float(cos.mean()), 4),
                top1_agree=round(float(np.mean(top[:, 0] == ref_top[:, 0])), 3),
                top5_overlap=round(
                    float(
                        np.mean(
                            [len(set(a) & set(b)) / 5 for a, b in zip(top, ref_top, strict=True)]
                        )
                    ),
                    3,
                ),
            )
        results["variants"][variant] = row
        print(variant, json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(json.dumps({k: v for k, v in results.items() if k != "variants"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
