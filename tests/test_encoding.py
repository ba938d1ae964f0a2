"""Messy files: Korean CP949/EUC-KR and Chinese GBK/GB18030 decode to the same text
and offsets as UTF-8; empty, binary, huge, undecodable and clashing files are
skipped with a warning naming the file while the rest of the corpus is indexed."""

from __future__ import annotations

import io
import json
import logging
import shutil
from pathlib import Path

import pytest

from kb import cli
from kb.errors import IngestError
from kb.index.load import load_index
from kb.ingest.chunk import ChunkerConfig, chunk_document
from kb.ingest.document import Document
from kb.ingest.encoding import decode
from kb.ingest.load import MAX_FILE_BYTES, load_bytes, load_corpus
from kb.models.embed import Embedder

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "tiny"

KOREAN_NO_SPACES = (
    "가격표\n아메리카노는4500원이고라떼는5000원입니다.\n영업시간은오전8시부터입니다.\n"
)
CHINESE_WITH_ENGLISH = (
    "Claude Haiku 4.5 简介\n"
    "Claude Haiku 4.5 是 Anthropic 发布的小型模型, 价格为每百万输入 token 1 美元。\n"
    "它的速度很快, 适合实时应用和 coding agent 场景。\n"
)
SAMPLES = {
    "seoul-cafe.ko.md": (FIXTURE / "seoul-cafe.ko.md").read_text("utf-8"),
    "tea-garden.zh.txt": (FIXTURE / "tea-garden.zh.txt").read_text("utf-8"),
    "prices.ko.txt": KOREAN_NO_SPACES,
    "haiku.zh.txt": CHINESE_WITH_ENGLISH,
}
CASES = [
    ("seoul-cafe.ko.md", "cp949", "cp949"),
    ("seoul-cafe.ko.md", "euc-kr", "cp949"),
    ("prices.ko.txt", "cp949", "cp949"),
    ("prices.ko.txt", "euc-kr", "cp949"),
    ("tea-garden.zh.txt", "gbk", "gb18030"),
    ("tea-garden.zh.txt", "gb18030", "gb18030"),
    ("haiku.zh.txt", "gbk", "gb18030"),
    ("haiku.zh.txt", "gb18030", "gb18030"),
]


def _same_document(doc: Document, ref: Document) -> None:
    """Same text, title, sections, offset maps and chunks (offsets) as ``ref``."""
    assert doc.text == ref.text and doc.clean_text == ref.clean_text
    assert doc.title == ref.title and doc.lang == ref.lang and doc.sections == ref.sections
    assert doc.clean_to_orig == ref.clean_to_orig
    assert doc.clean_to_orig_end == ref.clean_to_orig_end
    chunks, ref_chunks = chunk_document(doc, ChunkerConfig()), chunk_document(ref, ChunkerConfig())
    assert [(c.start, c.end, c.text, c.raw, c.sentences) for c in chunks] == [
        (c.start, c.end, c.text, c.raw, c.sentences) for c in ref_chunks
    ]
    for c in chunks:
        assert doc.text[c.start : c.end] == c.raw
        for s in c.sentences:
            assert c.start <= s.start < s.end <= c.end


@pytest.mark.parametrize(("name", "encoding", "detected"), CASES)
def test_legacy_cjk_encodings_decode_like_utf8(name: str, encoding: str, detected: str) -> None:
    text = SAMPLES[name]
    data = text.encode(encoding)
    assert data != text.encode("utf-8")
    assert decode(data) == (text, detected)
    doc = load_bytes(data, name)
    assert doc.encoding == detected
    _same_document(doc, load_bytes(text.encode("utf-8"), name))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_byte_order_marks(encoding: str) -> None:
    text = SAMPLES["seoul-cafe.ko.md"]
    doc = load_bytes(text.encode(encoding), "seoul-cafe.ko.md")
    assert not doc.text.startswith("\ufeff") and doc.title == "서울의 작은 카페 안내"
    _same_document(doc, load_bytes(text.encode("utf-8"), "seoul-cafe.ko.md"))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"  \n\t\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        (b"\xff\xfa" * 100, "cannot decode"),
        (b"\x01\x02\x03\x04\x05\x06 some text \x07\x08\x0e\x0f" * 20, "binary"),
    ],
)
def test_bad_bytes_raise_ingest_error_naming_the_file(data: bytes, reason: str) -> None:
    with pytest.raises(IngestError, match=rf"^bad\.md: .*{reason}"):
        load_bytes(data, "bad.md")


def _messy_corpus(root: Path) -> dict[str, str]:
    """The tiny corpus plus legacy-encoded and bad files; returns bad file -> reason."""
    shutil.copytree(FIXTURE, root, dirs_exist_ok=True)
    (root / "prices.ko.txt").write_bytes(KOREAN_NO_SPACES.encode("cp949"))
    (root / "haiku.zh.txt").write_bytes(CHINESE_WITH_ENGLISH.encode("gbk"))
    (root / "empty.md").write_bytes(b"")
    (root / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (root / "garbled.txt").write_bytes(b"\xff\xfa" * 100)
    with open(root / "huge.txt", "wb") as f:  # sparse: over the limit without writing it
        f.truncate(MAX_FILE_BYTES + 1)
    (root / "tea-garden.zh.md").write_text("# 重名\n\n另一个文件。\n", encoding="utf-8")
    (root / "notes.pdf").write_bytes(b"%PDF-1.4")  # not an article type: not even listed
    return {
        "empty.md": "empty file",
        "garbled.txt": "cannot decode",
        "huge.txt": "over the",
        "image.md": "looks binary",
        "tea-garden.zh.txt": "same document id as tea-garden.zh.md",
    }


def test_load_corpus_skips_bad_files_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = _messy_corpus(tmp_path)
    with caplog.at_level(logging.WARNING, logger="kb.ingest.load"):
        docs, skipped = load_corpus(tmp_path)
    assert sorted(d.source for d in docs) == [
        "bike-shop.en.html",
        "haiku.zh.txt",
        "prices.ko.txt",
        "seoul-cafe.ko.md",
        "tea-garden.zh.md",
    ]
    assert {s.source for s in skipped} == set(bad)
    for s in skipped:
        assert bad[s.source] in s.reason and not s.reason.startswith(s.source)
        assert any(r.getMessage().startswith(f"skipping {s.source}: ") for r in caplog.records)
    by_source = {d.source: d for d in docs}
    assert by_source["prices.ko.txt"].text == KOREAN_NO_SPACES
    assert by_source["haiku.zh.txt"].text == CHINESE_WITH_ENGLISH


def test_kb_index_indexes_the_rest_and_names_skipped_files(
    tmp_path: Path, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    seed = tmp_path_factory.getbasetemp() / "kb-tiny-seed" / "index"
    if (seed / "CURRENT").is_file():
        shutil.copytree(seed, index)  # reuse the tiny corpus's vectors
    bad = _messy_corpus(corpus)
    out = io.StringIO()
    assert cli.main(["index", "--corpus", str(corpus), "--index", str(index)], out=out) == 0
    text = out.getvalue()
    for source, reason in bad.items():
        assert sum(line.startswith(f"skipped {source}: ") for line in text.splitlines()) == 1
        assert reason in text
    idx = load_index(index)
    assert {e.source for e in idx.manifest.documents.values()} == {
        "bike-shop.en.html",
        "haiku.zh.txt",
        "prices.ko.txt",
        "seoul-cafe.ko.md",
        "tea-garden.zh.md",
    }
    assert idx.manifest.documents["prices.ko"].encoding == "cp949"
    assert idx.manifest.documents["haiku.zh"].encoding == "gb18030"
    assert {s["source"] for s in idx.manifest.skipped} == set(bad)
    # offsets of a legacy-encoded file point into its decoded text
    out = io.StringIO()
    rc = cli.main(
        ["search", "아메리카노 가격", "--corpus", str(corpus), "--index", str(index), "--json"],
        out=out,
    )
    assert rc == 0
    hit = next(h for h in json.loads(out.getvalue())["hits"] if h["source"] == "prices.ko.txt")
    assert KOREAN_NO_SPACES[hit["start"] : hit["end"]] == hit["text"]
    assert "아메리카노는4500원" in hit["text"]
