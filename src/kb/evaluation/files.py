"""The file formats under the evaluation sets: JSONL rows, gold fields
(answer keys, yes/no flags, one-or-many values), qrels files (BEIR, TREC) and
plain text read as a Document; datasets.py builds EvalSets from them."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path

from kb.errors import DatasetError
from kb.ingest.document import Document
from kb.ingest.load import load_bytes


def read_jsonl(path: Path) -> Iterable[tuple[int, dict[str, object]]]:
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{n}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DatasetError(f"{path}:{n}: expected a JSON object")
            yield n, row


def answer_keys_of(value: object, path: Path, n: int) -> tuple[str | tuple[str, ...], ...]:
    """``answer_keys``: a string, or a list of strings and lists of strings."""
    out: list[str | tuple[str, ...]] = []
    for item in as_list(value):
        if isinstance(item, str) and item.strip():
            out.append(item)
        elif isinstance(item, list) and item and all(isinstance(x, str) for x in item):
            out.append(tuple(item))
        else:
            raise DatasetError(f"{path}:{n}: answer_keys must hold strings or lists of strings")
    return tuple(out)


def flag(value: object) -> bool:
    """``answerable``: true/false, or the strings "true"/"false", "yes"/"no", 1/0."""
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "no", "0", "")
    return bool(value)


def as_list(value: object) -> list[object]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def text_document(text: str, source: str, title: str) -> Document:
    """A Document from plain text, titled ``title`` (not the file name)."""
    doc = load_bytes(text.encode("utf-8"), source)
    sections = tuple(dataclasses.replace(s, title=title) for s in doc.sections)
    return dataclasses.replace(doc, title=title, sections=sections)


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """BEIR ``query-id<TAB>corpus-id<TAB>score`` (with or without a header) or
    TREC ``qid 0 docid rel``."""
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for n, line in enumerate(f, start=1):
            parts = line.split("\t") if "\t" in line else line.split()
            parts = [x.strip() for x in parts]
            if not line.strip():
                continue
            if len(parts) == 4:
                qid, _, did, rel = parts
            elif len(parts) == 3:
                qid, did, rel = parts
            else:
                raise DatasetError(f"{path}:{n}: expected 3 (BEIR) or 4 (TREC) columns")
            try:
                grade = int(float(rel))
            except ValueError:
                if n == 1:
                    continue  # header line
                raise DatasetError(f"{path}:{n}: relevance {rel!r} is not a number") from None
            if grade > 0:
                qrels.setdefault(qid, {})[did] = grade
    return qrels


def find_qrels(folder: Path, split: str) -> Path:
    for cand in (
        folder / "qrels" / f"{split}.tsv",
        folder / "qrels" / f"{split}.txt",
        folder / f"qrels.{split}.tsv",
        folder / "qrels.tsv",
        folder / "qrels.txt",
    ):
        if cand.is_file():
            return cand
    raise DatasetError(f"{folder}: no qrels/{split}.tsv")
