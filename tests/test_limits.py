"""Degenerate files cost bounded time: limits on size, characters without a sentence
end, repeated text and chunks per file, each hit a one-line warning naming the file
and the setting; ordinary articles are untouched."""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import pytest

from kb.ingest.chunk import ChunkerConfig, chunk_document
from kb.ingest.clean import clean_text
from kb.ingest.limits import IngestLimits, apply_limits, cut, long_runs, repeat_share
from kb.ingest.load import load_bytes, load_corpus
from kb.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
ORDINARY = [ROOT / "corpus", ROOT / "tests" / "fixtures" / "tiny"]
NO_LIMITS = IngestLimits(max_file_bytes=10**9, max_run_chars=10**9, max_repeat_share=1.0)
SYLLABLES = "가나다라마바사아자차카타파하"


def _single_line(megabytes: float = 5) -> bytes:
    """The issue's file: megabytes of one line of repeated Korean syllables."""
    n = int(megabytes * 1_000_000)
    return (SYLLABLES * (n // len(SYLLABLES.encode()) + 1)).encode()[: n - n % 3]


@pytest.mark.parametrize("folder", ORDINARY, ids=lambda p: p.name)
def test_ordinary_articles_are_untouched(folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Same documents and the same chunks with the default limits as with none."""
    with caplog.at_level(logging.WARNING):
        docs, skipped = load_corpus(folder)
        chunks = [chunk_document(d, ChunkerConfig()) for d in docs]
    assert skipped == [] and caplog.records == []
    free_docs, _ = load_corpus(folder, limits=NO_LIMITS)
    unlimited = ChunkerConfig(max_chunks=10**9, max_sentences=10**9)
    assert docs == free_docs
    assert chunks == [chunk_document(d, unlimited) for d in free_docs]
    for doc in docs:
        assert doc.breaks == ()
        assert apply_limits(clean_text(doc.clean_text), IngestLimits(), doc.source)[1] == []


def test_the_issue_file_is_skipped_fast_with_a_warning_naming_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "flood.ko.txt").write_bytes(_single_line(5))
    (tmp_path / "fine.ko.txt").write_text(
        "노바-7의 가격은 입력 백만 토큰당 3달러입니다.\n", "utf-8"
    )
    t0 = time.perf_counter()
    docs, skipped = load_corpus(tmp_path)
    seconds = time.perf_counter() - t0
    assert [d.source for d in docs] == ["fine.ko.txt"]
    assert [s.source for s in skipped] == ["flood.ko.txt"]
    assert "KB_MAX_RUN_CHARS=2000" in skipped[0].reason
    assert "\n" not in skipped[0].reason
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"skipping flood.ko.txt: {skipped[0].reason}"]
    assert seconds < 20  # about 0.3 s on an idle core


@pytest.mark.parametrize(
    ("limits", "setting"),
    [
        (IngestLimits(max_run_chars=10**9), "KB_MAX_REPEAT_SHARE=0.6"),
        (IngestLimits(max_file_bytes=1_000_000), "KB_MAX_FILE_BYTES"),
    ],
)
def test_each_limit_alone_stops_the_issue_file(limits: IngestLimits, setting: str) -> None:
    from kb.errors import IngestError

    with pytest.raises(IngestError, match=setting):
        load_bytes(_single_line(2), "flood.ko.txt", limits=limits)


def test_chunk_and_sentence_limits_truncate_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    doc = load_bytes(_single_line(2), "flood.ko.txt", limits=NO_LIMITS)
    t0 = time.perf_counter()
    chunks = chunk_document(doc, ChunkerConfig())
    assert time.perf_counter() - t0 < 20
    assert len(chunks) == 200
    assert "KB_MAX_CHUNKS_PER_FILE" in caplog.text and "flood.ko.txt" in caplog.text
    lines = "\n".join(f"{i} 번째 줄입니다" for i in range(5000))
    doc = load_bytes(lines.encode(), "lines.ko.txt")
    caplog.clear()
    chunks = chunk_document(doc, ChunkerConfig())
    assert 0 < sum(len(c.sentences) for c in chunks) <= 2000
    assert len(caplog.records) == 1 and "KB_MAX_SENTENCES_PER_FILE" in caplog.text


def test_text_around_a_cut_stays_and_no_chunk_spans_the_cut(
    caplog: pytest.LogCaptureFixture,
) -> None:
    junk = _single_line(1).decode()
    text = (
        "Zeta-9 costs $2 per million input tokens.\n"
        + junk
        + "\nZeta-9 was released in March 2031.\n"
    )
    doc = load_bytes(text.encode(), "mixed.en.txt")
    assert doc.clean_text == (
        "Zeta-9 costs $2 per million input tokens.\n\nZeta-9 was released in March 2031.\n"
    )
    assert doc.breaks == (len("Zeta-9 costs $2 per million input tokens.\n"),)
    assert "mixed.en.txt: cut 333,333 of" in caplog.text and "KB_MAX_RUN_CHARS" in caplog.text
    chunks = chunk_document(doc, ChunkerConfig())
    assert [c.raw for c in chunks] == [
        "Zeta-9 costs $2 per million input tokens.",
        "Zeta-9 was released in March 2031.",
    ]
    for c in chunks:
        assert doc.text[c.start : c.end] == c.raw
        for s in c.sentences:
            assert doc.text[s.start : s.end] == s.text


def test_repetitive_blocks_are_cut_and_the_rest_kept() -> None:
    facts = "Orion-2 scored 71.5% on GPQA. Orion-2 costs $4 per million input tokens.\n"
    text = facts + "Buy now. " * 3000 + "\n" + facts.replace("Orion", "Lumen")
    doc = load_bytes(text.encode(), "spam.en.txt")
    assert doc.clean_text.count("Buy now") <= 2  # of 3,000 (one may border a fact)
    assert "Orion-2 scored 71.5%" in doc.clean_text and "Lumen-2 costs $4" in doc.clean_text
    assert repeat_share("Buy now. " * 100) > 0.9 > 0.2 > repeat_share(facts)


def test_cut_keeps_the_offset_map_and_moves_headings() -> None:
    source = "Title\n" + "x" * 50 + "\nSection two\nBody text.\n"
    cleaned = clean_text(source)
    assert [h[1] for h in cleaned.headings] == ["Title", "Section two"]
    spans = long_runs(cleaned.text, 40)
    assert spans == [(6, 56)]
    out = cut(cleaned, spans)
    assert out.text == "Title\n\nSection two\nBody text.\n"
    assert out.breaks == (6,)
    for i, ch in enumerate(out.text):
        assert source[out.starts[i] : out.ends[i]] == ch
    assert [(h[0], h[1]) for h in out.headings] == [(0, "Title"), (7, "Section two")]


def test_limits_are_settings_with_kb_env_names() -> None:
    env = {
        "KB_MAX_FILE_BYTES": "1000",
        "KB_MAX_RUN_CHARS": "300",
        "KB_MAX_REPEAT_SHARE": "0.5",
        "KB_MAX_CHUNKS_PER_FILE": "7",
        "KB_MAX_SENTENCES_PER_FILE": "70",
    }
    settings = Settings.from_env(env)
    assert IngestLimits.from_settings(settings) == IngestLimits(1000, 300, 0.5)
    assert (settings.max_chunks_per_file, settings.max_sentences_per_file) == (7, 70)
    # the defaults live in three places; they must agree
    defaults = Settings()
    assert IngestLimits.from_settings(defaults) == IngestLimits()
    config = ChunkerConfig()
    assert (config.max_chunks, config.max_sentences) == (
        defaults.max_chunks_per_file,
        defaults.max_sentences_per_file,
    )
    from kb.errors import SettingsError

    for bad in ({"KB_MAX_RUN_CHARS": "0"}, {"KB_MAX_REPEAT_SHARE": "1.5"}):
        with pytest.raises(SettingsError):
            Settings.from_env(bad)
    assert dataclasses.replace(settings, max_run_chars=5).max_run_chars == 5
