"""Verification of generated answers on the scripted set of model outputs:
share of supported sentences kept, planted errors caught (all must be).

    PYTHONPATH=src python benchmarks/eval_llm_verify.py [--json] [--verbose]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kb.evaluation.scripted import load_cases, score
from kb.llm.verify import Verifier
from kb.qa.lexicon import load_lexicon

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--set", type=Path, default=ROOT / "evaluation/llm/scripted_outputs.jsonl")
    p.add_argument("--json", action="store_true")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    report, rows = score(load_cases(args.set), Verifier(load_lexicon()))
    if args.verbose:
        for case_id, s, label in rows:
            ok = s.verified == (label is True)
            sys.stdout.write(
                f"{'ok ' if ok else 'BAD'} {case_id} {label!s:13} {s.verified!s:5} "
                f"{s.text[:70]} {s.reason}\n"
            )
    sys.stdout.write(
        json.dumps(report.to_dict(), ensure_ascii=False, indent=None if args.json else 2) + "\n"
    )
    return 0 if report.to_dict()["all_caught"] else 1


if __name__ == "__main__":
    sys.exit(main())
