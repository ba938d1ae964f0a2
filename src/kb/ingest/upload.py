"""Checks for an article added through the web UI, as pure functions.

``validate_upload`` decides whether ``(name, data)`` may go into the corpus and
under which file name; ``save_upload`` writes it. Every refusal is an
``UploadError`` with a one-line message meant for the person uploading.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from kb.errors import IngestError, UploadError
from kb.ingest.document import Document
from kb.ingest.load import doc_id_for, load_bytes

ALLOWED_EXTENSIONS = (".md", ".txt", ".html")
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_STEM_CHARS = 100

# Anything that is not a letter, digit, mark (Hangul/CJK/Latin letters are all \w), "." or "-".
_UNSAFE = re.compile(r"[^\w.-]+")
_DASHES = re.compile(r"-{2,}")
_DOTS = re.compile(r"\.{2,}")
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ValidatedUpload:
    filename: str  # safe file name inside the corpus folder
    data: bytes
    document: Document  # parsed, proves the content decodes and has text
    replaces: bool  # an existing article with this name will be replaced


def _has_control_chars(name: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name)


def safe_filename(name: str) -> str:
    """A safe, normalized file name for ``name`` or an UploadError.

    Directories are stripped (``docs/a.md`` -> ``a.md``), but path traversal
    (``..``), absolute paths, hidden files and control characters are refused.
    The stem becomes a slug: NFKC-normalized, lower case, runs of anything other
    than letters (CJK and Hangul included), digits, ``.`` and ``-`` become ``-``.
    """
    if not name or not name.strip():
        raise UploadError("the file has no name")
    if _has_control_chars(name):
        raise UploadError("the file name contains control characters")
    unified = name.replace("\\", "/")
    if unified.startswith("/") or _DRIVE.match(unified):
        raise UploadError(f"absolute paths are not allowed: {name!r}")
    parts = unified.split("/")
    if any(p.strip() == ".." for p in parts):
        raise UploadError(f"path traversal is not allowed: {name!r}")
    base = parts[-1].strip()
    if not base:
        raise UploadError(f"{name!r} names a folder, not a file")
    if base.startswith("."):
        raise UploadError(f"hidden files are not allowed: {base!r}")
    base = unicodedata.normalize("NFKC", base)
    stem, dot, ext = base.rpartition(".")
    if not dot or not stem:
        raise UploadError(
            f"{base!r} has no file extension: use one of {', '.join(ALLOWED_EXTENSIONS)}"
        )
    ext = "." + ext.lower()
    if ext not in ALLOWED_EXTENSIONS:
        raise UploadError(
            f"{ext!r} files are not supported: use one of {', '.join(ALLOWED_EXTENSIONS)}"
        )
    slug = _UNSAFE.sub("-", stem.lower())
    slug = _DOTS.sub(".", _DASHES.sub("-", slug)).strip("-._")
    slug = slug[:MAX_STEM_CHARS].rstrip("-._")
    if not slug:
        raise UploadError(f"{base!r} has no usable characters in its name")
    return slug + ext


def check_size(size: int, max_bytes: int = MAX_UPLOAD_BYTES) -> None:
    if size <= 0:
        raise UploadError("the file is empty")
    if size > max_bytes:
        raise UploadError(
            f"the file is {size / 1024 / 1024:.1f} MB; the limit is {max_bytes / 1024 / 1024:g} MB"
        )


def existing_article(corpus_dir: Path, filename: str) -> str | None:
    """The corpus file an upload named ``filename`` would collide with, if any.

    Articles are identified by their path without extension (``doc_id_for``),
    so ``a.md`` collides with ``a.txt``; the comparison ignores case.
    """
    if not corpus_dir.is_dir():
        return None
    wanted = doc_id_for(filename).casefold()
    for path in corpus_dir.iterdir():
        if (
            path.is_file()
            and not path.name.startswith(".")
            and doc_id_for(path.name).casefold() == wanted
        ):
            return path.name
    return None


def validate_upload(
    name: str,
    data: bytes,
    corpus_dir: Path,
    replace: bool = False,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> ValidatedUpload:
    """Everything that must hold before ``data`` is saved as article ``name``."""
    filename = safe_filename(name)
    check_size(len(data), max_bytes)
    clash = existing_article(corpus_dir, filename)
    if clash is not None and not replace:
        raise UploadError(
            f"an article named {clash!r} already exists; tick 'replace' to overwrite it"
        )
    if clash is not None and clash != filename:
        # a.md replacing a.txt would leave two files with one article id
        raise UploadError(
            f"{filename!r} would replace {clash!r}, which has another name or extension; "
            f"upload it as {clash!r} or remove {clash!r} first"
        )
    try:
        document = load_bytes(data, filename, max_bytes=max_bytes)
    except IngestError as exc:
        raise UploadError(str(exc)) from None
    return ValidatedUpload(filename, data, document, replaces=clash is not None)


def save_upload(upload: ValidatedUpload, corpus_dir: Path) -> Path:
    """Write the article into ``corpus_dir`` atomically; never overwrites unless
    ``upload.replaces`` (the file appearing meanwhile is refused)."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    dest = corpus_dir / upload.filename
    # hidden temporary name: the corpus loader skips dot files
    fd, tmp_name = tempfile.mkstemp(prefix=".upload-", dir=corpus_dir)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(upload.data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        if upload.replaces:
            os.replace(tmp, dest)
        else:
            _link_new(tmp, dest, upload)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _link_new(tmp: Path, dest: Path, upload: ValidatedUpload) -> None:
    """Put ``tmp`` at ``dest`` only if nothing is there yet."""
    try:
        try:
            os.link(tmp, dest)  # atomic, and fails if dest exists
        except FileExistsError:
            raise
        except OSError:  # no hard links on this filesystem: exclusive create
            with open(dest, "xb") as f:
                f.write(upload.data)
    except FileExistsError:
        raise UploadError(
            f"an article named {upload.filename!r} already exists; tick 'replace' to overwrite it"
        ) from None
