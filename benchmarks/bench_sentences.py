"""Where a build's CPU goes once chunk vectors are derived: the e5 sentence pass
by batch size and threads, and the second encoder (USE), in process CPU
seconds (robust on a shared machine) and wall seconds.

Texts: the sentence texts a build of the first N KorQuAD dev articles embeds
(``fields.SENTENCES`` and ``fields.SECOND_SENTENCES``), read at run time.

    python benchmarks/bench_sentences.py --articles 20 --batches 16,32,64 --threads 1,2
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_corpora import write_articles

from kb.index.fields import SECOND_SENTENCES, SENTENCES
from kb.ingest.chunk import chunk_document
from kb.ingest.load import load_corpus
from kb.models.e5_torch import E5TorchEncoder
from kb.models.embed import ConvertedE5Embedder
from kb.models.second_encoder import load_second_encoder
from kb.qa.service import chunker_config
from kb.settings import Settings


def timed(fn: Any) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return round(time.perf_counter() - t0, 2), round(time.process_time() - c0, 2)


def main(argv: list[str] | None = None) -> int:
    import torch
    from threadpoolctl import threadpool_limits

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=20)
    ap.add_argument("--batches", default="16,32,64")
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_articles(Path(tmp) / "kq", ("korquad_v1_dev.json",), args.articles).folder
        docs, _ = load_corpus(folder)
    cfg = chunker_config(Settings())
    chunks = [c for d in docs for c in chunk_document(d, cfg)]
    e5_texts = sorted(set(SENTENCES.texts(chunks)), key=len, reverse=True)
    use_texts = sorted(set(SECOND_SENTENCES.texts(chunks)), key=len, reverse=True)
    emb = ConvertedE5Embedder(variant="")
    prefix = emb.prompts.get("passage", "")
    out: dict[str, Any] = {
        "sentences": len(e5_texts),
        "runtime": emb.runtime,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "e5": [],
    }
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        for batch in (int(b) for b in args.batches.split(",")):
            enc = E5TorchEncoder(emb._model, batch_size=batch)
            enc.encode(["warm up"], prefix)
            step = max(32, batch)  # the build hands the model 32 texts per call (vcache)
            wall, cpu = timed(
                lambda enc=enc, step=step: [
                    enc.encode(e5_texts[i : i + step], prefix)
                    for i in range(0, len(e5_texts), step)
                ]
            )
            row = {"threads": threads, "batch": batch, "wall_s": wall, "cpu_s": cpu}
            out["e5"].append(row)
            print(json.dumps(row), flush=True)
    second = load_second_encoder("use3")
    assert second is not None
    second.encode_passages(["warm up"])
    for threads in (int(t) for t in args.threads.split(",")):
        with threadpool_limits(threads):
            if hasattr(second, "set_threads"):
                second.set_threads(threads)
            wall, cpu = timed(lambda: second.encode_passages(use_texts))
        row = {"use_threads": threads, "wall_s": wall, "cpu_s": cpu}
        out.setdefault("use", []).append(row)
        print(json.dumps(row), flush=True)
    print(json.dumps({k: v for k, v in out.items() if k not in ("e5", "use")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
