"""Read corpus files into Documents: encoding detection, cleaning, title, sections."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.clean import FORMATS, Cleaned, clean
from ingest.document import Document, Section
from ingest.lang import detect_language

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 5 * 1024 * 1024
# Legacy encodings tried, in order, when a file is not UTF-8.
LEGACY_ENCODINGS = ("cp949", "gb18030", "big5", "shift_jis")


class IngestError(ValueError):
    """A file cannot be turned into a Document (the message names the file)."""


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode(data: bytes) -> tuple[str, str]:
    """Decode file bytes, returning (text, encoding). No newline translation."""
    if b"\x00" in data[:8192]:
        raise IngestError("looks binary (NUL bytes)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    candidates = []
    for enc in LEGACY_ENCODINGS:
        try:
            candidates.append((data.decode(enc), enc))
        except UnicodeDecodeError:
            continue
    if not candidates:
        raise IngestError("cannot decode the file (not UTF-8, CP949/EUC-KR, GB18030/GBK, Big5 or Shift-JIS)")
    korean = next((c for c in candidates if c[1] == "cp949"), None)
    if korean is not None and _reads_as_korean(korean[0]):
        return korean
    return next((c for c in candidates if c[1] != "cp949"), candidates[0])


_HANGUL_SYLLABLE = re.compile(r"[가-힣]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _reads_as_korean(text: str) -> bool:
    """Korean separates words with spaces; Chinese bytes read as CP949 give Hangul
    soup with almost no spaces between the syllables."""
    non_ascii = len(_NON_ASCII.findall(text))
    if non_ascii == 0:
        return True
    hangul = len(_HANGUL_SYLLABLE.findall(text))
    spaces = text.count(" ")
    return hangul >= 0.6 * non_ascii and spaces >= 0.12 * hangul


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
    """Split the clean text at headings; text before the first heading is the title's."""
    n = len(cleaned.text)
    marks = [(0, title)] + [(pos, text) for pos, text, _ in cleaned.headings if pos > 0]
    if cleaned.headings and cleaned.headings[0][0] == 0:
        marks[0] = (0, cleaned.headings[0][1])
    out = []
    for i, (pos, name) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else n
        if cleaned.text[pos:end].strip():
            out.append(Section(title=name, start=pos, end=end))
    return tuple(out)


def doc_id_for(source: str) -> str:
    """A stable id: the relative path without its extension."""
    return str(Path(source).with_suffix("")).replace("\\", "/")


def load_bytes(data: bytes, source: str, max_bytes: int = MAX_FILE_BYTES) -> Document:
    """Turn one file's bytes into a Document. ``source`` is its corpus-relative path."""
    path = Path(source)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise IngestError(f"{source}: unsupported file type {path.suffix!r}")
    if not data.strip():
        raise IngestError(f"{source}: empty file")
    if len(data) > max_bytes:
        raise IngestError(f"{source}: {len(data):,} bytes is over the {max_bytes:,}-byte limit")
    try:
        text, encoding = decode(data)
    except IngestError as exc:
        raise IngestError(f"{source}: {exc}") from None
    cleaned = clean(text, fmt)
    if not cleaned.text.strip():
        raise IngestError(f"{source}: no text left after removing markup")
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
    )


def load_file(path: Path, corpus_dir: Path) -> Document:
    return load_bytes(path.read_bytes(), relative_source(path, corpus_dir))


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


def load_corpus(corpus_dir: Path) -> tuple[list[Document], list[Skipped]]:
    """Load every supported file; bad files are skipped with a warning, never fatal."""
    if not corpus_dir.is_dir():
        raise IngestError(f"corpus folder not found: {corpus_dir}")
    docs: list[Document] = []
    skipped: list[Skipped] = []
    for path in iter_corpus_files(corpus_dir):
        source = relative_source(path, corpus_dir)
        try:
            docs.append(load_file(path, corpus_dir))
        except (IngestError, OSError) as exc:
            log.warning("skipping %s", exc if isinstance(exc, IngestError) else f"{source}: {exc}")
            skipped.append(Skipped(source, str(exc)))
    return docs, skipped
