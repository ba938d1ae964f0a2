"""Precision and recall of the instruction detector (kb/ingest/instructions.py) on
the labelled sentences beside this script.

    python evaluation/instructions/measure.py [--cues extra.json] [--show]

Prints precision, recall and F1 overall, per split and per language, and with
--show every sentence the detector gets wrong. Splits: "dev" sentences were written
with the cue patterns; "holdout" ones after the patterns were first fixed, "fresh"
ones last. Each was measured once before the patterns were changed for its misses
(holdout: precision 0.968, recall 0.833; fresh: precision 0.929, recall 0.867), so
neither is unseen any more: those first numbers are the fair estimate.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kb.ingest.instructions import InstructionCues, bundled_cue_path, load_cues

LABELLED = Path(__file__).resolve().parent / "labelled.jsonl"


def score(rows: list[dict[str, object]], cues: InstructionCues) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    groups = [("all", "", "")]
    groups += [(s, "split", s) for s in sorted({str(r.get("split", "dev")) for r in rows})]
    groups += [(lang, "lang", lang) for lang in sorted({str(r["lang"]) for r in rows})]
    for name, key, value in groups:
        sel = [r for r in rows if not key or str(r.get(key, "dev")) == value]
        tp = sum(1 for r in sel if r["instruction"] and cues.is_instruction(str(r["text"])))
        fp = sum(1 for r in sel if not r["instruction"] and cues.is_instruction(str(r["text"])))
        pos = sum(1 for r in sel if r["instruction"])
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / pos if pos else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[name] = {
            "positives": pos,
            "negatives": len(sel) - pos,
            "tp": tp,
            "fp": fp,
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "f1": round(f1, 3),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labelled", type=Path, default=LABELLED)
    parser.add_argument("--cues", type=Path, action="append", default=[])
    parser.add_argument("--show", action="store_true", help="list the mistakes")
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in args.labelled.read_text("utf-8").splitlines() if line]
    cues = load_cues([bundled_cue_path(), *args.cues])
    for lang, s in score(rows, cues).items():
        sys.stdout.write(
            f"{lang:>7}: precision {s['precision']:.3f} recall {s['recall']:.3f} "
            f"f1 {s['f1']:.3f} ({s['positives']} instructions, {s['negatives']} others; "
            f"{s['tp']} found, {s['fp']} false alarms)\n"
        )
    if args.show:
        for r in rows:
            got = cues.match(str(r["text"]))
            if bool(got) != bool(r["instruction"]):
                label = "missed" if r["instruction"] else f"false alarm ({got.id if got else ''})"
                sys.stdout.write(f"{label}: [{r['id']}] {r['text']}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
