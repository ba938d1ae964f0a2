"""Ingest: decoding, markup cleaning with offset maps, titles, sections, chunk offsets."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from kb.errors import IngestError
from kb.ingest.chunk import ChunkerConfig, chunk_document, split_sentences
from kb.ingest.clean import clean_html, clean_markdown
from kb.ingest.encoding import decode
from kb.ingest.lang import detect_language
from kb.ingest.load import load_bytes, load_corpus

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


# SHA-256 of the four source articles as handed over in shared/corpus/.
SOURCE_SHA256 = {
    "claude-3.5-haiku.ko.md": "26ad92056a88bbf8fab19f1986041aada9ee354dae3f9eaeeab724e16b9749cf",
    "claude-3.5-sonnet-report.ko.txt": (
        "09837e9aa36eaed28603c197bd8da04c3e1baf84a5a3dff1c9b578e6650fb027"
    ),
    "claude-4-hybrid-reasoning.ko.md": (
        "df9623b9ee8a242daa78b9d506e26e04c709dfefaf23ff4b0bcf3c8f8b00e69a"
    ),
    "claude-haiku-4.5.zh.txt": "5ac6b399f32efc4b3284984c6be972992b15d2440171733e0820476f86736f7d",
}


def test_corpus_is_a_byte_copy_of_the_source_articles() -> None:
    assert set(SOURCE_SHA256) <= {p.name for p in CORPUS.iterdir()}
    for name, digest in SOURCE_SHA256.items():
        assert hashlib.sha256((CORPUS / name).read_bytes()).hexdigest() == digest, name
    shared = CORPUS.parent.parent / "shared" / "corpus"
    if shared.is_dir():  # beside the checkout in CI: compare with the originals too
        for name in SOURCE_SHA256:
            assert (CORPUS / name).read_bytes() == (shared / name).read_bytes(), name


def test_real_corpus_documents() -> None:
    docs, skipped = load_corpus(CORPUS)
    assert skipped == []
    by_id = {d.doc_id: d for d in docs}
    assert set(by_id) >= {
        "claude-3.5-haiku.ko",
        "claude-3.5-sonnet-report.ko",
        "claude-4-hybrid-reasoning.ko",
        "claude-haiku-4.5.zh",
    }
    assert by_id["claude-haiku-4.5.zh"].lang == "zh"
    assert by_id["claude-haiku-4.5.zh"].title == "Claude Haiku 4.5"
    assert by_id["claude-3.5-haiku.ko"].lang == "ko"
    assert by_id["claude-3.5-haiku.ko"].title == "Claude 3.5 하이쿠 (Haiku) 란?"
    # front matter title, front matter itself not indexed
    hybrid = by_id["claude-4-hybrid-reasoning.ko"]
    assert hybrid.title.startswith("AI News - 앤스로픽의 혁신적 진화")
    assert "layout: single" not in hybrid.clean_text
    assert "<b>" not in hybrid.clean_text and "클로드 3.7 소네트" in hybrid.clean_text


def test_every_chunk_and_sentence_round_trips_to_the_source_file() -> None:
    docs, _ = load_corpus(CORPUS)
    for doc in docs:
        source_text = (CORPUS / doc.source).read_bytes().decode("utf-8")
        assert doc.text == source_text
        chunks = chunk_document(doc, ChunkerConfig())
        assert chunks, doc.doc_id
        for c in chunks:
            assert c.raw == source_text[c.start : c.end]
            # every cleaned character comes from inside the cited span
            squeezed = "".join(c.text.split())
            assert squeezed, c.chunk_id
            for s in c.sentences:
                assert c.start <= s.start < s.end <= c.end
            assert c.section


def test_markdown_cleaning_maps_back_to_original() -> None:
    text = (
        "# Title\n\nSee [the docs](https://x.y/z) and **bold** <b>tag</b> &amp; more.\n"
        "![img](a.png)\n"
    )
    cleaned = clean_markdown(text)
    assert "https" not in cleaned.text and "img" not in cleaned.text
    assert "the docs" in cleaned.text and "bold" in cleaned.text and "& more" in cleaned.text
    assert [h[1] for h in cleaned.headings] == ["Title"]
    for i, ch in enumerate(cleaned.text):
        span = text[cleaned.starts[i] : cleaned.ends[i]]
        assert ch in span or (ch == "&" and span == "&amp;")


def test_html_cleaning_drops_script_style_and_keeps_headings() -> None:
    html = (FIXTURES / "tiny" / "bike-shop.en.html").read_text(encoding="utf-8")
    cleaned = clean_html(html)
    assert cleaned.title == "Riverside Bike Shop"
    assert "tracking" not in cleaned.text and "color" not in cleaned.text
    assert "$12 per day & repairs" in " ".join(cleaned.text.split())
    assert [h[1] for h in cleaned.headings] == ["Riverside Bike Shop", "Opening hours"]


@pytest.mark.parametrize(
    ("name", "encoding"),
    [
        ("seoul-cafe.ko.md", "cp949"),
        ("seoul-cafe.ko.md", "euc_kr"),
        ("tea-garden.zh.txt", "gbk"),
        ("tea-garden.zh.txt", "gb18030"),
    ],
)
def test_legacy_encodings_load(name: str, encoding: str) -> None:
    original = (FIXTURES / "tiny" / name).read_text(encoding="utf-8")
    doc = load_bytes(original.encode(encoding), name)
    assert doc.text == original
    chunks = chunk_document(doc, ChunkerConfig(chunk_size=100, chunk_overlap=20))
    assert all(c.raw == original[c.start : c.end] for c in chunks)


def test_decode_rejects_binary() -> None:
    with pytest.raises(IngestError, match="binary"):
        decode(b"\x89PNG\r\n\x1a\n\x00\x00")


def test_bad_files_are_skipped_not_fatal(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "tiny", corpus)
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "blob.md").write_bytes(b"\x00\x01\x02binary")
    (corpus / "notes.pdf").write_bytes(b"%PDF-1.4")  # unsupported: ignored
    docs, skipped = load_corpus(corpus)
    assert len(docs) == 3
    assert sorted(s.source for s in skipped) == ["blob.md", "empty.txt"]


def test_missing_corpus_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="corpus folder not found"):
        load_corpus(tmp_path / "nope")


def test_language_detection() -> None:
    assert detect_language("Claude Haiku 4.5의 SWE-bench 점수는?") == "ko"
    assert detect_language("Claude Haiku 4.5在SWE-bench上的得分是多少?") == "zh"
    assert detect_language("What is Claude Haiku 4.5's score?") == "en"


def test_sentence_splitting_knows_cjk_sentence_ends() -> None:
    text = "第一句话。第二句话！Third sentence here. 넷째 문장입니다?"
    parts = [text[s:e] for s, e in split_sentences(text)]
    assert parts == ["第一句话。", "第二句话！", "Third sentence here.", "넷째 문장입니다?"]
