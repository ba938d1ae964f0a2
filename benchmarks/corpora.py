"""Benchmark corpora made from the public QA sets in ../shared/benchmarks.

``paragraph_corpus`` writes one Markdown file per paragraph of the KorQuAD 1.0
and CMRC 2018 dev sets (964 + 848 = 1,812 "articles"), titled by their article:
the corpus issue 11 measures the query path and the build on. Shared with the
scale benchmarks (they import it; this file is the interface).

    python benchmarks/corpora.py /tmp/kb-1812        # writes the files
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks"
SOURCES = {"korquad": ("korquad_v1_dev.json", "ko"), "cmrc": ("cmrc2018_dev.json", "zh")}


@dataclass(frozen=True)
class Paragraph:
    source: str  # "korquad" or "cmrc"
    lang: str
    title: str
    text: str
    questions: tuple[str, ...]


def shared_dir() -> Path:
    """../shared/benchmarks next to the checkout, or /work/shared/benchmarks."""
    return SHARED if SHARED.is_dir() else Path("/work/shared/benchmarks")


def paragraphs(sources: tuple[str, ...] = ("korquad", "cmrc")) -> Iterator[Paragraph]:
    for name in sources:
        file, lang = SOURCES[name]
        data = json.loads((shared_dir() / file).read_text(encoding="utf-8"))["data"]
        for article in data:
            title = str(article.get("title") or article.get("id") or "")
            for p in article["paragraphs"]:
                qs = tuple(str(q["question"]) for q in p.get("qas", []))
                yield Paragraph(name, lang, title, str(p["context"]), qs)


def paragraph_corpus(
    out: Path, limit: int | None = None, sources: tuple[str, ...] = ("korquad", "cmrc")
) -> list[Paragraph]:
    """Write one file per paragraph into ``out`` (created; existing files with the
    same names are overwritten); returns the paragraphs written, in file order."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Paragraph] = []
    for i, p in enumerate(paragraphs(sources)):
        if limit is not None and i >= limit:
            break
        path = out / f"{p.source}-{i:05d}.{p.lang}.md"
        path.write_text(f"# {p.title}\n\n{p.text}\n", encoding="utf-8")
        written.append(p)
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    n = len(paragraph_corpus(args.out, args.limit))
    print(f"{n} files in {args.out}")


if __name__ == "__main__":
    main()
