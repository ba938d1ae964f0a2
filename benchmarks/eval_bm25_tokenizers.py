"""BM25 tokenizations and k1 on SQuAD-style paragraph retrieval.

Paragraph-level BM25 (no chunking, no embeddings, no titles): character bigrams
alone, bigrams + kiwipiepy morphemes (the project's tokenizer), kiwipiepy alone,
and Han unigrams for Chinese, each with k1 1.2 and 0.5 (the project's). Prints one
markdown row per variant.

    python benchmarks/eval_bm25_tokenizers.py /work/shared/benchmarks/korquad_v1_dev.json [LIMIT]
"""

import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kb.evaluation.datasets import load_squad
from kb.evaluation.metrics import evaluate
from kb.index.lexical import BM25Index, BM25Params
from kb.index.tokenize import Tokenizer, TokenizerConfig
from kb.models.korean import MORPHEME_PREFIX

path = Path(sys.argv[1])
limit = int(sys.argv[2]) if len(sys.argv) > 2 else None
es = load_squad(path).limited(limit)
docs = es.documents or []
ids = [es.item_of_doc[d.doc_id] for d in docs]
texts = [d.clean_text for d in docs]
base = Tokenizer(TokenizerConfig(korean_morphemes=""))
project = Tokenizer()
HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")


def kiwi_tokens(text: str) -> list[str]:
    return [t for t in project(text) if t.startswith(MORPHEME_PREFIX)]


def han_unigrams(text: str) -> list[str]:
    return [c for c in base.normalize(text) if HAN.match(c)]


TOK: dict[str, Callable[[str], list[str]]] = {
    "bigram": base,
    "bigram+kiwi (project)": project,
    "kiwi only": kiwi_tokens,
    "bigram+han-unigram": lambda t: base(t) + han_unigrams(t),
    "han-unigram only": lambda t: [x for x in base(t) if not HAN.search(x)] + han_unigrams(t),
}
lang = es.queries[0].lang
names = [n for n in TOK if ("kiwi" in n) == (lang == "ko") or n == "bigram"]
qrels = {q.qid: q.qrels for q in es.queries}
for name, k1 in ((n, k1) for n in names for k1 in (1.2, 0.5)):
    tok = TOK[name]
    t0 = time.perf_counter()
    bm = BM25Index.build([tok(t) for t in texts], BM25Params(k1=k1))
    tb = time.perf_counter() - t0
    run = {}
    t0 = time.perf_counter()
    for q in es.queries:
        s = bm.scores(tok(q.text))
        order = np.argsort(-s, kind="stable")[:10]
        run[q.qid] = [ids[i] for i in order]
    tq = (time.perf_counter() - t0) / len(es.queries) * 1000
    m = evaluate(qrels, run)
    print(
        f"| {es.name} | {name} | {k1} | "
        + " | ".join(
            f"{m[k]:.3f}" for k in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
        )
        + f" | {tb:.1f}s | {tq:.1f} |",
        flush=True,
    )
