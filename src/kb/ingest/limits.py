"""Limits that keep degenerate files (megabytes of one line, the same syllables over
and over) from costing minutes of chunking and embedding.

Checked on the clean text of each file, after markup removal:

* ``max_run_chars``: a stretch of more characters than this without a sentence end
  (newline, 。！？!?, or a full stop before white space) is cut out;
* ``max_repeat_share``: the text is read in blocks of about ``BLOCK_CHARS``
  characters (ending at sentence ends); in a block where more than this share of
  the ``NGRAM``-character sequences occurs earlier in the same block, sentences
  seen before in the file and sentences that repeat themselves are cut out (a new
  sentence among the repeats, or a templated line with its own figures, stays).

What is cut is reported in one warning line per limit, naming the file and the
setting; where text was cut, the clean text records a *break* so no chunk, section
or list spans the cut (its source span would hold the text that was cut). The file
size (``max_file_bytes``) is checked before a file is read (``load.py``) and the
chunks per file by the chunker (``ChunkerConfig.max_chunks``).

Measured on ordinary text: the four corpus articles have runs of at most 188
characters and blocks with at most 8% repeated 12-character sequences; the KorQuAD
and CMRC dev paragraphs (read as one file each) at most 576 characters and 37%, and
the default limits cut nothing from any of them.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kb.ingest.clean import Cleaned

if TYPE_CHECKING:
    from kb.settings import Settings

BLOCK_CHARS = 2000
MIN_BLOCK_CHARS = 200  # a shorter last block is judged together with the one before
NGRAM = 12
_BREAK = re.compile(r"\n|[。！？!?]|\.(?=\s|$)")
_WORD = re.compile(r"\w")
MIN_WORD_CHARS = 12  # fewer left after a cut: the file is skipped (leftover debris)


@dataclass(frozen=True)
class IngestLimits:
    """Defaults keep every ordinary article whole (see the module docstring)."""

    max_file_bytes: int = 5 * 1024 * 1024
    max_run_chars: int = 2000
    max_repeat_share: float = 0.6

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestLimits:
        return cls(
            max_file_bytes=settings.max_file_bytes,
            max_run_chars=settings.max_run_chars,
            max_repeat_share=settings.max_repeat_share,
        )


def long_runs(text: str, limit: int) -> list[tuple[int, int]]:
    """Spans of more than ``limit`` characters without a sentence end."""
    out = []
    prev = 0
    for m in _BREAK.finditer(text):
        if m.start() - prev > limit:
            out.append((prev, m.start()))
        prev = m.end()
    if len(text) - prev > limit:
        out.append((prev, len(text)))
    return out


def repeat_share(text: str, n: int = NGRAM) -> float:
    """Share of the ``n``-character sequences of ``text`` seen earlier in it."""
    total = len(text) - n + 1
    if total <= 0:
        return 0.0
    return 1.0 - len({text[i : i + n] for i in range(total)}) / total


def blocks(text: str, size: int = BLOCK_CHARS) -> list[tuple[int, int]]:
    """``text`` cut at sentence ends into blocks of at least ``size`` characters
    (a sentence longer than that is cut at ``size``)."""
    out: list[tuple[int, int]] = []
    start = 0
    ends = [m.end() for m in _BREAK.finditer(text)]
    while len(text) - start > size:
        i = bisect.bisect_left(ends, start + size)
        end = ends[i] if i < len(ends) and ends[i] - start <= 2 * size else start + size
        out.append((start, end))
        start = end
    if start < len(text):
        if out and len(text) - start < MIN_BLOCK_CHARS:
            out[-1] = (out[-1][0], len(text))
        else:
            out.append((start, len(text)))
    return out


def repetitive_spans(text: str, limit: float) -> list[tuple[int, int, float]]:
    """Spans to cut as repetitive: (start, end, share of the block they are in).

    A block whose share of repeated ``NGRAM``-character sequences is over ``limit``
    is looked at sentence by sentence: a sentence seen before in the document, or
    one that repeats itself (its own share over ``limit``), goes; the first copy of
    a sentence and every sentence that differs (a fact among the spam, a templated
    line with its own figures) stay."""
    out = []
    seen: set[str] = set()
    for s, e in blocks(text):
        block = text[s:e]
        share = repeat_share(block)
        judged = share > limit and e - s >= MIN_BLOCK_CHARS
        start = 0
        for end in [m.end() for m in _BREAK.finditer(block)] + [len(block)]:
            if end <= start:
                continue
            sentence = " ".join(block[start:end].split())
            if len(_WORD.findall(sentence)) >= 4:  # not white space or punctuation alone
                if judged and (sentence in seen or repeat_share(sentence) > limit):
                    out.append((s + start, s + end, share))
                seen.add(sentence)
            start = end
    return out


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def cut(cleaned: Cleaned, spans: list[tuple[int, int]]) -> Cleaned:
    """``cleaned`` without the clean-text ``spans``; a break marks each cut."""
    spans = _merge(spans)
    if not spans:
        return cleaned
    text: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    breaks: set[int] = set()
    shift: list[tuple[int, int]] = []  # (old offset, removed before it)
    pos = removed = length = 0
    for s, e in spans:
        text.append(cleaned.text[pos:s])
        starts.extend(cleaned.starts[pos:s])
        ends.extend(cleaned.ends[pos:s])
        length += s - pos
        removed += e - s
        shift.append((e, removed))
        breaks.add(length)
        pos = e
    text.append(cleaned.text[pos:])
    starts.extend(cleaned.starts[pos:])
    ends.extend(cleaned.ends[pos:])
    new_text = "".join(text)

    cut_starts = [s for s, _ in spans]
    cut_ends = [p for p, _ in shift]

    def moved(offset: int) -> int | None:
        i = bisect.bisect_right(cut_starts, offset) - 1
        if i >= 0 and offset < spans[i][1]:
            return None  # inside a cut
        j = bisect.bisect_right(cut_ends, offset) - 1
        return offset - (shift[j][1] if j >= 0 else 0)

    headings = []
    for offset, line, level in cleaned.headings:
        new = moved(offset)
        if new is not None:
            headings.append((new, line, level))
    for b in cleaned.breaks:
        new = moved(b)
        if new is not None:
            breaks.add(new)
    inner = {b for b in breaks if 0 < b < len(new_text)}
    return Cleaned(
        new_text, tuple(starts), tuple(ends), tuple(headings), cleaned.title, tuple(sorted(inner))
    )


def apply_limits(cleaned: Cleaned, limits: IngestLimits, source: str) -> tuple[Cleaned, list[str]]:
    """Cut over-long runs, then repetitive text; one warning line per limit hit.
    Where the cuts leave fewer than ``MIN_WORD_CHARS`` word characters, nothing is
    left (the caller skips the file)."""
    warnings = []
    runs = long_runs(cleaned.text, limits.max_run_chars)
    if runs:
        chars = sum(e - s for s, e in runs)
        warnings.append(
            f"{source}: cut {chars:,} of {len(cleaned.text):,} characters: {len(runs)} "
            f"stretch(es) with no sentence end for more than {limits.max_run_chars:,} "
            f"characters (limit KB_MAX_RUN_CHARS={limits.max_run_chars})"
        )
        cleaned = cut(cleaned, runs)
    rep = repetitive_spans(cleaned.text, limits.max_repeat_share)
    if rep:
        chars = sum(e - s for s, e, _ in rep)
        worst = max(share for _, _, share in rep)
        warnings.append(
            f"{source}: cut {chars:,} of {len(cleaned.text):,} characters of repetitive text "
            f"(blocks with up to {worst:.0%} repeated {NGRAM}-character sequences; "
            f"limit KB_MAX_REPEAT_SHARE={limits.max_repeat_share:g})"
        )
        cleaned = cut(cleaned, [(s, e) for s, e, _ in rep])
    if warnings and len(_WORD.findall(cleaned.text)) < MIN_WORD_CHARS:
        cleaned = cut(cleaned, [(0, len(cleaned.text))])
    return cleaned, warnings
