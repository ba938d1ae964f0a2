"""Paragraph corpora for the build and scale benchmarks, from ../shared/benchmarks.

Read at run time (never copied into the repo). One Markdown file per article:
``# title`` then the article's paragraphs. ``write_articles`` repeats the
datasets with small edits (a marker sentence naming the copy) when more text is
asked for than they hold, and says so in its return value.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(os.environ.get("KB_BENCH_DATA", "/work/shared/benchmarks"))
DATASETS = ("korquad_v1_dev.json", "cmrc2018_dev.json")


@dataclass(frozen=True)
class Article:
    title: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Written:
    folder: Path
    articles: int
    paragraphs: int
    characters: int
    copies: int  # 1: real text only; >1: repeated with small edits


def read_articles(name: str, data_dir: Path = DATA_DIR) -> list[Article]:
    data = json.loads((data_dir / name).read_text(encoding="utf-8"))
    out: list[Article] = []
    for art in data["data"]:
        paras = [str(p["context"]).strip() for p in art["paragraphs"]]
        title = str(art.get("title") or (paras[0][:20] if paras else "untitled"))
        out.append(Article(title, tuple(p for p in paras if p)))
    return out


def _write(folder: Path, stem: str, art: Article, copy: int) -> int:
    paras = list(art.paragraphs)
    title = art.title
    if copy > 0:  # a small edit: the copy is named in its title and first paragraph
        title = f"{art.title} ({copy})"
        paras[0] = f"{paras[0]} (copy {copy})"
    text = f"# {title}\n\n" + "\n\n".join(paras) + "\n"
    (folder / f"{stem}.md").write_text(text, encoding="utf-8")
    return len(text)


def write_articles(folder: Path, datasets: tuple[str, ...], n_articles: int) -> Written:
    """The first ``n_articles`` articles, taken from ``datasets`` in turn."""
    folder.mkdir(parents=True, exist_ok=True)
    pools = [read_articles(d) for d in datasets]
    order = [a for group in zip(*pools, strict=False) for a in group]
    order += [a for pool in pools for a in pool[len(min(pools, key=len)) :]]
    chars = paras = written = copy = 0
    while written < n_articles:
        for art in order:
            if written >= n_articles:
                break
            chars += _write(folder, f"a{written:06d}", art, copy)
            paras += len(art.paragraphs)
            written += 1
        copy += 1
    return Written(folder, written, paras, chars, max(copy, 1))


def article_paragraphs(datasets: tuple[str, ...], n_articles: int) -> list[str]:
    """The paragraphs ``write_articles`` puts in the same articles (no copies)."""
    pools = [read_articles(d) for d in datasets]
    order = [a for group in zip(*pools, strict=False) for a in group]
    return [p for art in order[:n_articles] for p in art.paragraphs]


def write_paragraphs(folder: Path, datasets: tuple[str, ...], n_paragraphs: int) -> Written:
    """Whole articles until at least ``n_paragraphs`` paragraphs are written."""
    pools = [read_articles(d) for d in datasets]
    order = [a for group in zip(*pools, strict=False) for a in group]
    per_pass = sum(len(a.paragraphs) for a in order)
    n_articles = 0
    paras = 0
    while paras < n_paragraphs:
        art = order[n_articles % len(order)]
        paras += len(art.paragraphs)
        n_articles += 1
        if n_articles > len(order) * (n_paragraphs // max(per_pass, 1) + 2):
            break
    return write_articles(folder, datasets, n_articles)


def questions(datasets: tuple[str, ...], n: int) -> list[str]:
    """The first ``n`` questions, taken from ``datasets`` in turn."""
    pools: list[list[str]] = []
    for name in datasets:
        data = json.loads((DATA_DIR / name).read_text(encoding="utf-8"))
        pools.append(
            [str(q["question"]) for a in data["data"] for p in a["paragraphs"] for q in p["qas"]]
        )
    mixed = [q for group in zip(*pools, strict=False) for q in group]
    return mixed[:n]
