"""Render an evaluation report: markdown tables and a PNG chart."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

LABELS = {
    "recall@1": "R@1",
    "recall@5": "R@5",
    "recall@10": "R@10",
    "mrr@10": "MRR@10",
    "ndcg@10": "nDCG@10",
}


def _num(x: object, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    align = ["---"] + ["---:"] * (len(header) - 1)
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(align) + " |",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


ANSWER_HEADER = [
    "key fact ↑",
    "false abstention ↓",
    "unanswerable abstained ↑",
    "traps abstained ↑",
    "first citation holds evidence ↑",
    "quotes exact",
]


def _answer_cells(a: dict[str, Any]) -> list[str]:
    return [
        f"{_num(a['key_fact'])} (n={a['with_keys']})",
        f"{_num(a['false_abstention'])} (n={a['answerable']})",
        f"{_num(a['abstained_on_unanswerable'])} (n={a['unanswerable']})",
        f"{_num(a['abstained_on_traps'])} (n={a['traps']})",
        f"{_num(a['first_citation_holds_evidence'])}",
        f"{_num(a['quotes_exact'])} (n={a['answered']})",
    ]


def to_markdown(report: dict[str, Any]) -> str:
    ds, st, ix = report["dataset"], report["settings"], report["index"]
    metrics: list[str] = report["metrics"]
    modes: dict[str, Any] = report["modes"]
    langs = ", ".join(f"{k} {v}" for k, v in ds["languages"].items())
    lines = [
        f"## kb eval: {ds['name']} ({ds['format']})",
        "",
        f"{ds['questions']} questions ({ds['judged']} with a relevant passage; {langs}); "
        f"model {st['model']}, chunks {st['chunk_size']}/{st['chunk_overlap']}, k={st['k']}.",
        f"Index: {ix['documents']} documents, {ix['chunks']} chunks, {ix['sentences']} sentences, "
        f"built in {ix['seconds']:.1f}s ({ix['texts_embedded']} texts embedded, "
        f"{ix['texts_reused']} reused from an earlier build).",
        "",
    ]
    if ds.get("evidence_not_in_corpus"):
        lines += [
            "Evidence found in no indexed chunk (these always count as misses): "
            + ", ".join(ds["evidence_not_in_corpus"]),
            "",
        ]
    header = ["mode", *(LABELS.get(m, m) for m in metrics), "p50 ms", "p95 ms"]
    rows = []
    for name, m in modes.items():
        rows.append(
            [
                name,
                *(_num(m["metrics"].get(x)) for x in metrics),
                _num(m["latency_ms"]["p50"], 1),
                _num(m["latency_ms"]["p95"], 1),
            ]
        )
    lines += _table(header, rows)
    all_langs = sorted({lang for m in modes.values() for lang in m["by_lang"]})
    if len(all_langs) > 1:
        for metric in ("recall@5", "mrr@10"):
            lines += ["", f"{LABELS[metric]} by question language:", ""]
            n = {
                lang: next(
                    int(m["by_lang"][lang]["n"]) for m in modes.values() if lang in m["by_lang"]
                )
                for lang in all_langs
            }
            rows = [
                [name, *(_num(m["by_lang"].get(lang, {}).get(metric)) for lang in all_langs)]
                for name, m in modes.items()
            ]
            lines += _table(["mode", *(f"{lang} (n={n[lang]})" for lang in all_langs)], rows)
    if any("doc_metrics" in m for m in modes.values()):
        lines += ["", "Document level (a hit from any gold doc_id counts):", ""]
        doc_metrics = ["recall@1", "recall@5", "recall@10", "mrr@10"]
        rows = [
            [name, *(_num(m["doc_metrics"].get(x)) for x in doc_metrics)]
            for name, m in modes.items()
            if "doc_metrics" in m
        ]
        lines += _table(["mode", *(f"doc {LABELS[x]}" for x in doc_metrics)], rows)
    if any("answers" in m for m in modes.values()):
        lines += [
            "",
            "Answers (targets: key fact ≥ 0.75, false abstention ≤ 0.05, "
            "unanswerable abstained ≥ 0.85, first citation ≥ 0.90, quotes 1.0):",
            "",
        ]
        rows = [[name, *_answer_cells(m["answers"])] for name, m in modes.items() if "answers" in m]
        lines += _table(["mode", *ANSWER_HEADER], rows)
        for name, m in modes.items():
            a = m.get("answers")
            if not a:
                continue
            for group, title in (("by_type", "question type"), ("by_lang", "question language")):
                rows = [[g, *_answer_cells(b)] for g, b in a[group].items()]
                if rows:
                    lines += ["", f"Answers by {title} ({name}):", ""]
                    lines += _table([title, *ANSWER_HEADER], rows)
            misses = {k: v for k, v in a["misses"].items() if v}
            if misses:
                lines += [
                    "",
                    f"Misses ({name}): "
                    + "; ".join(f"{k}: {', '.join(v)}" for k, v in misses.items()),
                ]
    return "\n".join(lines) + "\n"


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=None, default=_json_default)


def _json_default(x: object) -> object:  # numpy scalars and the like
    if hasattr(x, "item"):
        return x.item()
    return str(x)


def write_chart(report: dict[str, Any], path: Path) -> Path:
    """Grouped bars: each metric per mode, then Recall@5 per question language."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes: dict[str, Any] = report["modes"]
    metrics: list[str] = report["metrics"]
    names = list(modes)
    langs = sorted({lang for m in modes.values() for lang in m["by_lang"]})
    answer_metrics = [
        ("key_fact", "key fact"),
        ("abstained_on_unanswerable", "abstains\nunanswerable"),
        ("false_abstention", "false\nabstention"),
        ("first_citation_holds_evidence", "first cite\nevidence"),
    ]
    with_answers = any("answers" in m for m in modes.values())
    ratios = [len(metrics), max(1, len(langs))] + ([len(answer_metrics)] if with_answers else [])
    fig, axes = plt.subplots(
        1, len(ratios), figsize=(6 + 2.2 * len(ratios), 4.8), gridspec_kw={"width_ratios": ratios}
    )
    width = 0.8 / max(1, len(names))

    def overall(m: dict[str, Any], g: str) -> Any:
        return m["metrics"].get(g)

    def by_lang(m: dict[str, Any], g: str) -> Any:
        return m["by_lang"].get(g, {}).get("recall@5")

    def answers(m: dict[str, Any], g: str) -> Any:
        return m.get("answers", {}).get(g)

    panels: list[tuple[Any, list[str], Callable[[dict[str, Any], str], Any], str]] = [
        (axes[0], metrics, overall, "overall"),
        (axes[1], langs, by_lang, "Recall@5 by question language"),
    ]
    if with_answers:
        panels.append((axes[2], [k for k, _ in answer_metrics], answers, "answers"))
        LABELS.update(dict(answer_metrics))
    for ax, groups, getter, title in panels:
        for i, name in enumerate(names):
            vals = [getter(modes[name], g) for g in groups]
            ys = [0.0 if v is None or math.isnan(v) else float(v) for v in vals]
            xs = [j + (i - (len(names) - 1) / 2) * width for j in range(len(groups))]
            ax.bar(xs, ys, width, label=name)
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([LABELS.get(g, g) for g in groups])
        ax.set_ylim(0, 1.05)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    fig.legend(
        *axes[0].get_legend_handles_labels(), fontsize=8, loc="lower center", ncol=len(names)
    )
    ds = report["dataset"]
    fig.suptitle(
        f"kb eval: {ds['name']} ({ds['questions']} questions, {report['settings']['model']})"
    )
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
