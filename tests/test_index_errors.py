"""A damaged or mismatched index is reported by `kb search` in one line saying how
to fix it (exit 2), and `kb index` repairs it."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from kb import cli
from kb.index.layout import current_build
from kb.models.loaded import Models

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "tiny"


def run_cli(models: Models | None, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    rc = cli.main(list(argv), out=out, models=models)
    return rc, out.getvalue()


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _edit_manifest(build: Path, **changes: object) -> None:
    path = build / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    for key, value in changes.items():
        if key.startswith("model_"):  # model_id, model_weights
            manifest["model"][key.removeprefix("model_")] = value
        else:
            manifest[key] = value
    path.write_text(json.dumps(manifest), encoding="utf-8")


DAMAGE: dict[str, tuple[Callable[[Path], object], str]] = {
    "truncated chunks.faiss": (lambda b: _truncate(b / "chunks.faiss"), "damaged"),
    "truncated sentences.faiss": (lambda b: _truncate(b / "sentences.faiss"), "damaged"),
    "truncated chunks.jsonl": (lambda b: _truncate(b / "chunks.jsonl"), "damaged"),
    "chunks.jsonl missing": (lambda b: (b / "chunks.jsonl").unlink(), "damaged"),
    "truncated BM25": (lambda b: _truncate(b / "lexical" / "data.npy"), "damaged"),
    "BM25 vocabulary garbage": (
        lambda b: (b / "lexical" / "bm25.json").write_text("{]", encoding="utf-8"),
        "damaged",
    ),
    "truncated manifest": (lambda b: _truncate(b / "manifest.json"), "damaged"),
    "manifest missing": (lambda b: (b / "manifest.json").unlink(), "damaged"),
    "manifest not an object": (
        lambda b: (b / "manifest.json").write_text("[1, 2]", encoding="utf-8"),
        "damaged",
    ),
    "other weights": (
        lambda b: _edit_manifest(b, model_id="st:some-model", model_weights="files:other"),
        "built with model 'st:some-model'",
    ),
    "unknown format version": (lambda b: _edit_manifest(b, format_version=99), "format version"),
    "counts differ": (
        lambda b: _edit_manifest(b, counts={"chunks": 1, "documents": 3, "sentences": 1}),
        "inconsistent",
    ),
    "CURRENT names a deleted build": (lambda b: shutil.rmtree(b), "does not exist"),
}


def _search(
    models: Models | None, corpus: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    capsys.readouterr()
    rc, _ = run_cli(
        models, "search", "bike rental price", "--corpus", str(corpus), "--index", str(index)
    )
    return rc, capsys.readouterr().err


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damaged_index_is_one_line_with_the_fix(
    models: Models, case: str, indexed: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    corpus, index = indexed
    build = current_build(index)
    assert build is not None
    damage, words = DAMAGE[case]
    damage(build)
    rc, err = _search(models, corpus, index, capsys)
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("kb: error: "), err
    assert words in err and "run `kb index --rebuild`" in err, err
    assert "Traceback" not in err


def test_no_index_says_run_kb_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = _search(None, FIXTURE, tmp_path / "none", capsys)
    assert rc == 2 and err.count("\n") == 1 and "run `kb index` first" in err


@pytest.mark.parametrize("case", ["truncated chunks.jsonl", "truncated BM25"])
def test_kb_index_repairs_a_damaged_index(
    models: Models, case: str, indexed: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Plain `kb index` rebuilds over damage, reusing whatever vectors are intact."""
    corpus, index = indexed
    build = current_build(index)
    assert build is not None
    DAMAGE[case][0](build)
    rc, out = run_cli(models, "index", "--corpus", str(corpus), "--index", str(index), "--json")
    assert rc == 0, out
    assert json.loads(out)["chunks_embedded"] == 0  # the vectors were intact
    rc, err = _search(models, corpus, index, capsys)
    assert rc == 0, err


def test_dangling_current_rebuilds_from_leftover_build(
    models: Models, indexed: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """CURRENT naming a deleted build: no index (`kb serve` would build one); `kb index`
    builds a new one, reusing the vectors of any complete build still in the folder."""
    corpus, index = indexed
    build = current_build(index)
    assert build is not None
    spare = index / "build-00000000T000000000000Z-1"
    shutil.copytree(build, spare)
    shutil.rmtree(build)
    assert current_build(index) is None
    rc, err = _search(models, corpus, index, capsys)
    assert rc == 2 and "does not exist" in err and "kb index --rebuild" in err
    rc, out = run_cli(models, "index", "--corpus", str(corpus), "--index", str(index), "--json")
    assert rc == 0, out
    report = json.loads(out)
    assert report["chunks_embedded"] == 0 and report["unchanged"] == 3
    assert current_build(index) is not None
    rc, err = _search(models, corpus, index, capsys)
    assert rc == 0, err
