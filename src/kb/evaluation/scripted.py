"""The scripted set of model outputs (evaluation/llm/scripted_outputs.jsonl): each
case gives the passages sent, a generated answer, and per sentence either ``true``
(a supported sentence that must be kept) or the planted error it carries
(``wrong_figure``, ``wrong_passage``, ``out_of_range``, ``injected``; ``not_found``
for a "the knowledge base does not hold the answer" line). ``score`` runs the
verifier over it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.ingest.document import Chunk, Sentence
from kb.llm.verify import CheckedSentence, Verifier


@dataclass(frozen=True)
class ScriptedCase:
    case_id: str
    question: str
    passages: list[Chunk]
    output: str
    labels: list[bool | str]


@dataclass(frozen=True)
class ScriptedReport:
    supported: int = 0  # sentences labelled true
    kept: int = 0  # of those, verified
    planted: dict[str, int] = field(default_factory=dict)  # error type -> count
    caught: dict[str, int] = field(default_factory=dict)  # error type -> not verified
    mismatched: list[str] = field(default_factory=list)  # case ids where counts differ

    def to_dict(self) -> dict[str, object]:
        return {
            "supported_sentences": self.supported,
            "kept": self.kept,
            "kept_share": round(self.kept / self.supported, 4) if self.supported else None,
            "planted": self.planted,
            "caught": self.caught,
            "all_caught": self.planted == self.caught,
            "split_mismatch": self.mismatched,
        }


def make_chunk(n: int, raw: dict[str, Any]) -> Chunk:
    sentences: list[Sentence] = []
    pos = 0
    parts: list[str] = []
    for item in raw["sentences"]:
        text, instruction = (
            (item, False)
            if isinstance(item, str)
            else (item["text"], bool(item.get("instruction")))
        )
        sentences.append(Sentence(pos, pos + len(text), text, instruction=instruction))
        parts.append(text)
        pos += len(text) + 1
    text = " ".join(parts)
    return Chunk(
        chunk_id=f"scripted-{n}",
        doc_id=f"scripted-{n}",
        source=f"scripted-{n}.txt",
        title=raw["title"],
        section=raw.get("section", ""),
        lang=raw.get("lang", ""),
        start=0,
        end=len(text),
        text=text,
        raw=text,
        sentences=tuple(sentences),
    )


def load_cases(path: Path) -> list[ScriptedCase]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            chunks = [make_chunk(i, p) for i, p in enumerate(d["passages"], 1)]
            cases.append(ScriptedCase(d["id"], d["question"], chunks, d["output"], d["labels"]))
    return cases


def score(
    cases: list[ScriptedCase], verifier: Verifier
) -> tuple[ScriptedReport, list[tuple[str, CheckedSentence, bool | str]]]:
    """The report and every (case id, checked sentence, label)."""
    supported = kept = 0
    planted: dict[str, int] = {}
    caught: dict[str, int] = {}
    mismatched: list[str] = []
    rows: list[tuple[str, CheckedSentence, bool | str]] = []
    for case in cases:
        checked = verifier.verify(case.output, case.passages).sentences
        if len(checked) != len(case.labels):
            mismatched.append(case.case_id)
            continue
        for s, label in zip(checked, case.labels, strict=True):
            rows.append((case.case_id, s, label))
            if label is True:
                supported += 1
                kept += s.verified
            else:
                key = str(label)
                planted[key] = planted.get(key, 0) + 1
                caught[key] = caught.get(key, 0) + (not s.verified)
    return ScriptedReport(supported, kept, planted, caught, mismatched), rows
