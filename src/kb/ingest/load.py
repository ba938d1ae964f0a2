"""Read corpus files into Documents: decoding (encoding.py), cleaning, title, sections."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kb.errors import IngestError
from kb.ingest.clean import FORMATS, Cleaned, clean
from kb.ingest.document import Document, Section
from kb.ingest.encoding import decode
from kb.ingest.lang import detect_language
from kb.ingest.limits import IngestLimits, apply_limits

log = logging.getLogger(__name__)

MAX_FILE_BYTES = IngestLimits.max_file_bytes


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_LANG_SUFFIX = re.compile(r"\.(ko|zh|en|ja|kr|cn)$", re.I)


def _title_from_name(path: Path) -> str:
    stem = _LANG_SUFFIX.sub("", path.stem)
    words = re.split(r"[-_\s]+", stem)
    return " ".join(w[:1].upper() + w[1:] for w in words if w)


def _pick_title(cleaned: Cleaned, path: Path) -> str:
    if cleaned.title:
        return cleaned.title
    for _, text, level in cleaned.headings:
        if level == 1:
            return text
    for line in cleaned.text.splitlines():
        s = line.strip()
        if s:
            if len(s) <= 80 and not s.endswith(("。", ".", "!", "?", "！", "？")):
                return s
            break
    return _title_from_name(path)


def _sections(cleaned: Cleaned, title: str) -> tuple[Section, ...]:
    """Split the clean text at headings; text before the first heading is the title's.
    A break (text cut by a limit) splits a section in two of the same name."""
    n = len(cleaned.text)
    marks = [(0, title)] + [(pos, text) for pos, text, _ in cleaned.headings if pos > 0]
    if cleaned.headings and cleaned.headings[0][0] == 0:
        marks[0] = (0, cleaned.headings[0][1])
    out = []
    for i, (pos, name) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else n
        cuts = [b for b in cleaned.breaks if pos < b < end]
        for s, e in zip([pos, *cuts], [*cuts, end], strict=True):
            if cleaned.text[s:e].strip():
                out.append(Section(title=name, start=s, end=e))
    return tuple(out)


def doc_id_for(source: str) -> str:
    """A stable id: the relative path without its extension."""
    return str(Path(source).with_suffix("")).replace("\\", "/")


def load_bytes(
    data: bytes,
    source: str,
    max_bytes: int | None = None,
    limits: IngestLimits | None = None,
) -> Document:
    """Turn one file's bytes into a Document. ``source`` is its corpus-relative path.

    ``limits`` (defaults: ``IngestLimits()``) bound what a degenerate file costs; text
    they cut is named in a warning (logged) and a file left empty is an IngestError.
    ``max_bytes`` overrides ``limits.max_file_bytes``."""
    limits = limits or IngestLimits()
    if max_bytes is None:
        max_bytes = limits.max_file_bytes
    path = Path(source)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise IngestError(f"{source}: unsupported file type {path.suffix!r}")
    if not data.strip():
        raise IngestError(f"{source}: empty file")
    if len(data) > max_bytes:
        raise IngestError(_too_big(source, len(data), max_bytes))
    try:
        text, encoding = decode(data)
    except IngestError as exc:
        raise IngestError(f"{source}: {exc}") from None
    cleaned = clean(text, fmt)
    if not cleaned.text.strip():
        raise IngestError(f"{source}: no text left after removing markup")
    cleaned, warnings = apply_limits(cleaned, limits, source)
    if not cleaned.text.strip():
        reasons = "; ".join(w.removeprefix(f"{source}: ") for w in warnings)
        raise IngestError(f"{source}: no text left within the limits ({reasons})")
    for warning in warnings:
        log.warning("%s", warning)
    title = _pick_title(cleaned, path)
    return Document(
        doc_id=doc_id_for(source),
        source=source,
        title=title,
        lang=detect_language(cleaned.text),
        encoding=encoding,
        text=text,
        clean_text=cleaned.text,
        clean_to_orig=cleaned.starts,
        clean_to_orig_end=cleaned.ends,
        sections=_sections(cleaned, title),
        content_hash=sha256_bytes(data),
        breaks=cleaned.breaks,
    )


def _too_big(source: str, size: int, limit: int) -> str:
    return f"{source}: {size:,} bytes is over the {limit:,}-byte limit (KB_MAX_FILE_BYTES)"


def load_file(
    path: Path,
    corpus_dir: Path,
    max_bytes: int | None = None,
    limits: IngestLimits | None = None,
) -> Document:
    limits = limits or IngestLimits()
    if max_bytes is None:
        max_bytes = limits.max_file_bytes
    source = relative_source(path, corpus_dir)
    size = path.stat().st_size
    if size > max_bytes:  # checked before reading: a huge file is never loaded
        raise IngestError(_too_big(source, size, max_bytes))
    return load_bytes(path.read_bytes(), source, max_bytes=max_bytes, limits=limits)


def relative_source(path: Path, corpus_dir: Path) -> str:
    return path.relative_to(corpus_dir).as_posix()


def iter_corpus_files(corpus_dir: Path) -> Iterator[Path]:
    """Supported files under ``corpus_dir``, sorted, skipping hidden ones."""
    for path in sorted(corpus_dir.rglob("*")):
        rel = path.relative_to(corpus_dir)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and path.suffix.lower() in FORMATS:
            yield path


def load_corpus(
    corpus_dir: Path, max_bytes: int | None = None, limits: IngestLimits | None = None
) -> tuple[list[Document], list[Skipped]]:
    """Load every supported file; bad files are skipped with a warning naming the
    file, never fatal: empty, binary, undecodable, over ``max_bytes`` (default
    ``limits.max_file_bytes``), nothing left within the ``limits``, unreadable, or a
    second file with the same document id (``a.md`` beside ``a.txt``)."""
    if not corpus_dir.is_dir():
        raise IngestError(f"corpus folder not found: {corpus_dir}")
    docs: list[Document] = []
    skipped: list[Skipped] = []
    seen: dict[str, str] = {}

    def skip(source: str, reason: str) -> None:
        log.warning("skipping %s: %s", source, reason)
        skipped.append(Skipped(source, reason))

    for path in iter_corpus_files(corpus_dir):
        source = relative_source(path, corpus_dir)
        doc_id = doc_id_for(source)
        if doc_id in seen:
            skip(source, f"same document id as {seen[doc_id]} (rename one of them)")
            continue
        try:
            doc = load_file(path, corpus_dir, max_bytes=max_bytes, limits=limits)
        except IngestError as exc:
            reason = str(exc)
            skip(source, reason.removeprefix(f"{source}: "))
            continue
        except OSError as exc:
            skip(source, exc.strerror or str(exc))
            continue
        seen[doc_id] = source
        docs.append(doc)
    return docs, skipped
