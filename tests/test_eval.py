"""kb eval: loaders, metrics against hand-computed numbers, the runner and the command
(with a tiny deterministic embedder), and one end-to-end run on the gold dev set."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from kb import cli
from kb.errors import DatasetError, EvalError
from kb.evaluation.answers import AnswerRow, summarize_answers
from kb.evaluation.command import cmd_eval
from kb.evaluation.datasets import (
    EVIDENCE,
    detect_format,
    gold_relevant,
    load_beir,
    load_eval_set,
    load_gold,
    load_squad,
)
from kb.evaluation.evidence_text import contains_evidence
from kb.evaluation.files import read_qrels
from kb.evaluation.metrics import dedupe, evaluate, evaluate_by_group, latency_summary
from kb.evaluation.modes import VARIANTS, parse_modes
from kb.evaluation.report import to_markdown, write_chart
from kb.evaluation.scoring import ModeResult, QueryResult, summarize
from kb.ingest.document import Chunk
from kb.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FIX = Path(__file__).resolve().parent / "fixtures"
EVAL = FIX / "eval"


class HashEmbedder:
    """Deterministic bag-of-character-bigrams vectors: fast, no model."""

    dim = 64
    model_id = "test:hash-bigrams"
    weights_id = "test:hash-bigrams"
    prompts: ClassVar[dict[str, str]] = {"query": "", "passage": ""}

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        t = text.lower()
        for a, b in itertools.pairwise(t):
            h = int(hashlib.md5((a + b).encode()).hexdigest()[:8], 16)
            v[h % self.dim] += 1.0
        n = float(np.linalg.norm(v)) or 1.0
        return v / n

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return (
            np.vstack([self._vec(t) for t in texts])
            if texts
            else np.zeros((0, self.dim), np.float32)
        )

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        if progress:
            progress(len(texts))
        return self.encode_queries(texts)


def _chunk(raw: str, text: str | None = None, doc_id: str = "d") -> Chunk:
    return Chunk(
        f"{doc_id}:0-{len(raw)}",
        doc_id,
        f"{doc_id}.txt",
        "T",
        "T",
        "en",
        0,
        len(raw),
        text if text is not None else raw,
        raw,
    )


# ---------------------------------------------------------------- metrics


def test_metrics_match_hand_computed_numbers() -> None:
    qrels = {"a": {"x": 1}, "b": {"y": 1, "z": 1}, "c": {"w": 1}}
    run = {
        "a": ["u", "x"],  # first relevant at rank 2
        "b": ["z", "v", "v", "y"],  # both relevant: ranks 1 and 3 after dedupe
        "c": [],  # nothing retrieved
    }
    m = evaluate(qrels, run)
    assert m["recall@1"] == pytest.approx((0 + 0.5 + 0) / 3)
    assert m["recall@5"] == pytest.approx((1 + 1 + 0) / 3)
    assert m["recall@10"] == pytest.approx(2 / 3)
    assert m["mrr@10"] == pytest.approx((0.5 + 1 + 0) / 3)
    ndcg_a = 1 / math.log2(3)
    ndcg_b = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert m["ndcg@10"] == pytest.approx((ndcg_a + ndcg_b) / 3)

    groups = evaluate_by_group(qrels, run, {"a": "ko", "b": "zh", "c": "zh"})
    assert groups["ko"]["n"] == 1 and groups["ko"]["mrr@10"] == pytest.approx(0.5)
    assert groups["zh"]["n"] == 2 and groups["zh"]["recall@5"] == pytest.approx(0.5)


def test_metrics_helpers() -> None:
    assert dedupe(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]
    lat = latency_summary([0.001, 0.002, 0.003, 0.004])
    assert lat["p50"] == pytest.approx(2.5)
    assert lat["mean"] == pytest.approx(2.5)
    assert lat["p95"] == pytest.approx(3.85)
    assert math.isnan(evaluate({"a": {}}, {"a": ["x"]})["recall@5"])  # nothing judged


def test_summarize_gold_abstention_and_doc_recall() -> None:
    evalset = load_gold(EVAL / "gold_tiny.jsonl")
    spec = VARIANTS["hybrid"]
    result = ModeResult(
        spec,
        [
            QueryResult(
                "t-1",
                [EVIDENCE],
                ["other", "bike-shop.en"],
                0.010,
                abstained=False,
                confidence=0.9,
                answer=AnswerRow("t-1", "en", "open", True, False, True, True, False, True, True),
            ),
            QueryResult(
                "t-2",
                [],
                ["bike-shop.en"],
                0.030,
                abstained=False,
                confidence=0.5,
                answer=AnswerRow("t-2", "en", "", False, False, False, False, False, None, True),
            ),
        ],
    )
    s = summarize(evalset, result)
    assert s["metrics"]["recall@1"] == 1.0  # only the answerable question is judged
    assert s["by_lang"]["en"]["n"] == 1
    assert s["doc_metrics"]["recall@1"] == 0.0
    assert s["doc_metrics"]["mrr@10"] == pytest.approx(0.5)
    a = s["answers"]
    assert a["abstained_on_unanswerable"] == 0.0 and a["misses"]["answered_unanswerable"] == ["t-2"]
    assert a["false_abstention"] == 0.0 and a["key_fact"] == 1.0
    assert a["first_citation_holds_evidence"] == 1.0 and a["quotes_exact"] == 1.0
    assert set(a["by_type"]) == {"open"} and a["by_lang"]["en"]["questions"] == 2
    assert s["latency_ms"]["p50"] == pytest.approx(20.0)


def test_answer_summary_by_hand() -> None:
    rows = [
        # qid, lang, type, answerable, trap, has_keys, key_hit, abstained, first cite, quotes
        AnswerRow("a", "en", "figure", True, False, True, True, False, True, True),
        AnswerRow("b", "ko", "figure", True, False, True, False, False, False, True),
        AnswerRow("c", "ko", "list", True, False, True, False, True, None, True),
        AnswerRow("d", "zh", "list", True, False, False, False, False, True, False),
        AnswerRow("e", "zh", "figure", False, True, False, False, True, None, True),
        AnswerRow("f", "en", "figure", False, False, False, False, False, None, True),
    ]
    a = summarize_answers(rows)
    assert a["key_fact"] == pytest.approx(1 / 3)  # a of a, b, c (d has no keys)
    assert a["false_abstention"] == pytest.approx(1 / 4)  # c
    assert a["abstained_on_unanswerable"] == pytest.approx(1 / 2)  # e of e, f
    assert a["abstained_on_traps"] == 1.0
    assert a["first_citation_holds_evidence"] == pytest.approx(2 / 3)  # a, d of a, b, d
    assert a["quotes_exact"] == pytest.approx(3 / 4)  # answered: a, b, d, f
    assert a["by_type"]["list"]["answerable"] == 2
    assert a["misses"] == {
        "key_fact": ["b"],
        "false_abstentions": ["c"],
        "answered_unanswerable": ["f"],
        "first_citation": ["b"],
        "quotes": ["d"],
    }


# ---------------------------------------------------------------- loaders


def test_gold_loader_and_evidence_matching() -> None:
    evalset = load_gold(EVAL / "gold_tiny.jsonl")
    q1, q2 = evalset.queries
    assert evalset.format == "gold" and evalset.documents is None
    assert q1.qrels == {EVIDENCE: 1} and q1.doc_ids == ("bike-shop.en",)
    assert not q2.answerable and q2.qrels == {}
    assert contains_evidence(_chunk("repairs flat tyres in 20 minutes."), q1.evidence)
    # whitespace moved by line wrapping still matches; the cleaned text counts too
    assert contains_evidence(_chunk("flat tyres in\n20 minutes"), q1.evidence)
    assert contains_evidence(_chunk("<b>x</b>", text="flat tyres in 20 minutes"), q1.evidence)
    assert not contains_evidence(_chunk("flat tyres in 30 minutes"), q1.evidence)
    assert evalset.item_of(_chunk("no"), q1) == "d:0-2"
    assert evalset.item_of(_chunk("flat tyres in 20 minutes"), q1) == EVIDENCE


def test_gold_loader_accepts_other_spellings_and_document_evidence(tmp_path: Path) -> None:
    rows = [
        # no id, "language", evidence naming a document by file name
        {"question": "Who repairs bikes?", "language": "en", "evidence": "bike-shop.en.html"},
        # only doc_ids: any chunk of that document is relevant
        {"query": "찻집 어디?", "doc_id": "seoul-cafe.ko", "answerable": "true"},
        {"question": "What is the GDP of Mars?", "answerable": "false"},
    ]
    path = tmp_path / "hidden.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    a, b, c = load_gold(path).queries
    assert (a.qid, a.lang, b.qid, b.lang) == ("hidden-1", "en", "hidden-2", "ko")
    assert b.answerable and b.doc_ids == ("seoul-cafe.ko",) and not c.answerable
    bike = Chunk("b:0-4", "bike-shop.en", "bike-shop.en.html", "T", "T", "en", 0, 4, "x", "x")
    cafe = Chunk("c:0-4", "seoul-cafe.ko", "seoul-cafe.ko.md", "T", "T", "ko", 0, 4, "x", "x")
    assert gold_relevant(bike, a) and not gold_relevant(cafe, a)
    assert gold_relevant(cafe, b) and not gold_relevant(bike, b)
    path.write_text(json.dumps({"question": "x?"}), encoding="utf-8")
    with pytest.raises(DatasetError, match="no evidence and no doc_ids"):
        load_gold(path)


def test_gold_sets_of_the_project_load() -> None:
    for name in ("corpus_dev.jsonl", "corpus_holdout.jsonl"):
        evalset = load_eval_set(ROOT / "evaluation" / "gold" / name)
        assert evalset.format == "gold"
        assert all(q.evidence for q in evalset.queries if q.answerable)
        assert {q.lang for q in evalset.queries} <= {"ko", "zh", "en"}


def test_squad_loader_one_document_per_paragraph() -> None:
    evalset = load_squad(EVAL / "squad_tiny.json", titles=False)
    assert evalset.name == "squad_tiny-notitles"
    assert [d.source for d in evalset.documents or []] == ["p00000.txt", "p00001.txt", "p00002.txt"]
    assert [q.qid for q in evalset.queries] == [
        "ko-1",
        "ko-2",
        "ko-3",
        "zh-1",
    ]  # impossible one dropped
    assert [q.lang for q in evalset.queries] == ["ko", "ko", "ko", "zh"]
    assert evalset.queries[2].qrels == {"p00001": 1}
    doc = (evalset.documents or [])[1]
    assert doc.title == "" and doc.lang == "ko"
    assert evalset.item_of_doc[doc.doc_id] == "p00001"
    first = evalset.first_documents(1)
    assert len(first.documents or []) == 1 and [q.qid for q in first.queries] == ["ko-1"]
    titled = load_squad(EVAL / "squad_tiny.json")  # titles by default
    assert (titled.documents or [])[2].title == "茶园" and titled.name == "squad_tiny"
    assert evalset.limited(2).queries == evalset.queries[:2]
    sample = evalset.limited(2, seed=1)
    assert len(sample.queries) == 2 and sample.queries == evalset.limited(2, seed=1).queries


def test_beir_loader_and_qrels_formats(tmp_path: Path) -> None:
    evalset = load_beir(EVAL / "beir")
    assert [q.qid for q in evalset.queries] == ["q1", "q2", "q3"]  # q4 has no judgement
    assert evalset.queries[1].qrels == {"doc-tea": 2}
    assert evalset.queries[2].qrels == {"doc-cafe": 1}  # grade 0 dropped
    assert sorted(evalset.item_of_doc.values()) == ["doc-bike", "doc-cafe", "doc-tea"]
    assert (evalset.documents or [])[0].title == "Bike shop"
    assert read_qrels(EVAL / "trec_qrels.txt") == {"q1": {"doc-bike": 1}, "q2": {"doc-tea": 1}}
    assert detect_format(EVAL / "beir") == "beir"
    assert detect_format(EVAL / "squad_tiny.json") == "squad"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "question": "q", "answerable": true}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="no evidence"):
        load_gold(bad)
    with pytest.raises(DatasetError, match="not found"):
        load_eval_set(tmp_path / "missing.json")


def test_parse_modes() -> None:
    assert [s.name for s in parse_modes("hybrid, lexical,hybrid")] == ["hybrid", "lexical"]
    with pytest.raises(EvalError, match="unknown mode"):
        parse_modes("hybrid,bm42")


# ---------------------------------------------------------------- the command


def _run(argv: list[str], tmp_path: Path) -> tuple[int, str]:
    args = cli.build_parser().parse_args(["eval", *argv, "--work", str(tmp_path / "work")])
    out = io.StringIO()
    code = cmd_eval(Settings(), args, out, embedder_factory=lambda s: HashEmbedder())
    return code, out.getvalue()


def test_command_on_squad_writes_json_markdown_and_chart(tmp_path: Path) -> None:
    code, text = _run(
        [
            str(EVAL / "squad_tiny.json"),
            "--modes",
            "lexical,dense,hybrid-noexpand",
            "--json",
            "--out",
            str(tmp_path / "out"),
        ],
        tmp_path,
    )
    assert code == 0
    report = json.loads(text)
    assert report["dataset"]["questions"] == 4 and report["dataset"]["format"] == "squad"
    assert list(report["modes"]) == ["lexical", "dense", "hybrid-noexpand"]
    assert report["index"]["documents"] == 3 and report["index"]["chunks"] == 3
    assert report["settings"]["chunk_size"] == 1000
    for m in report["modes"].values():
        assert set(m["metrics"]) == {"recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"}
        assert set(m["by_lang"]) == {"ko", "zh"}
        assert m["metrics"]["recall@5"] == 1.0  # 3 paragraphs: always within the top 5
        assert m["latency_ms"]["p95"] >= m["latency_ms"]["p50"] >= 0
    # the lexical mode finds the exact-match paragraphs first
    assert report["modes"]["lexical"]["metrics"]["recall@1"] >= 0.75
    for ext in ("md", "json", "png"):
        assert (tmp_path / "out" / f"squad_tiny.{ext}").stat().st_size > 0
    # the scratch index is reused: nothing is embedded the second time
    code, text = _run(
        [str(EVAL / "squad_tiny.json"), "--modes", "lexical", "--json", "--limit", "1"], tmp_path
    )
    again = json.loads(text)
    assert again["index"]["texts_embedded"] == 0 and again["dataset"]["questions"] == 1


def test_command_on_beir_and_gold_fixture(tmp_path: Path) -> None:
    code, text = _run([str(EVAL / "beir"), "--modes", "lexical,hybrid", "--json"], tmp_path)
    assert code == 0
    report = json.loads(text)
    assert report["dataset"]["judged"] == 3
    assert report["modes"]["lexical"]["metrics"]["mrr@10"] > 0.5

    args = cli.build_parser().parse_args(
        ["eval", str(EVAL / "gold_tiny.jsonl"), "--modes", "hybrid", "--work", str(tmp_path / "w2")]
    )
    out = io.StringIO()
    settings = Settings(corpus_dir=FIX / "tiny")
    assert cmd_eval(settings, args, out, embedder_factory=lambda s: HashEmbedder()) == 0
    md = out.getvalue()
    assert "| hybrid |" in md and "unanswerable abstained" in md and "doc R@5" in md


def test_command_user_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _run([str(EVAL / "squad_tiny.json"), "--modes", "nope"], tmp_path)
    assert code == 2
    assert "unknown mode" in capsys.readouterr().err
    code, _ = _run([str(tmp_path / "none.jsonl")], tmp_path)
    assert code == 2


def test_markdown_and_chart_from_a_report(tmp_path: Path) -> None:
    mode = {
        "options": {},
        "metrics": {
            "recall@1": 0.5,
            "recall@5": 1.0,
            "recall@10": 1.0,
            "mrr@10": 0.75,
            "ndcg@10": 0.8,
        },
        "by_lang": {
            "ko": {"n": 1.0, "recall@5": 1.0, "mrr@10": 1.0},
            "zh": {"n": 1.0, "recall@5": 1.0, "mrr@10": 0.5},
        },
        "latency_ms": {"p50": 1.0, "p95": 2.0, "mean": 1.5},
    }
    report = {
        "dataset": {
            "name": "x",
            "format": "squad",
            "questions": 2,
            "judged": 2,
            "languages": {"ko": 1, "zh": 1},
        },
        "settings": {"model": "m", "chunk_size": 1000, "chunk_overlap": 100, "k": 10},
        "index": {
            "documents": 2,
            "chunks": 2,
            "sentences": 4,
            "seconds": 0.5,
            "texts_embedded": 6,
            "texts_reused": 0,
        },
        "metrics": ["recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"],
        "modes": {"hybrid": mode, "lexical": mode},
    }
    md = to_markdown(report)
    assert "| hybrid | 0.500 | 1.000 | 1.000 | 0.750 | 0.800 | 1.0 | 2.0 |" in md
    assert "ko (n=1)" in md
    assert write_chart(report, tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


# ---------------------------------------------------------------- end to end


@pytest.mark.integration
def test_kb_eval_gold_dev_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    code = cli.main(
        [
            "eval",
            str(ROOT / "evaluation" / "gold" / "corpus_dev.jsonl"),
            "--corpus",
            str(ROOT / "corpus"),
            "--modes",
            "hybrid,lexical",
            "--json",
            "--work",
            str(tmp_path / "work"),
        ],
        out=out,
    )
    assert code == 0
    report = json.loads(out.getvalue())
    assert report["dataset"]["format"] == "gold"
    assert report["dataset"]["questions"] >= 91
    assert report["dataset"]["evidence_not_in_corpus"] == []
    hybrid = report["modes"]["hybrid"]
    assert set(hybrid) >= {"metrics", "by_lang", "doc_metrics", "answers", "latency_ms"}
    assert set(hybrid["by_lang"]) == {"en", "ko", "zh"}
    # retrieval metrics are over answerable questions only
    assert hybrid["metrics"]["recall@5"] >= 0.80
    a = hybrid["answers"]
    assert a["unanswerable"] + a["answerable"] == report["dataset"]["questions"]
    assert a["quotes_exact"] == 1.0
    assert 0.0 <= a["abstained_on_unanswerable"] <= 1.0
