"""What identifies a model's weights, whatever runtime runs them.

The index manifest records it as ``model.weights`` and opening an index
compares it (index/manifest.py ``check_model``): two runtimes of the same
weights (the bundled 4-bit engine and its torch conversion) may search each
other's indexes, other weights may not. Nothing here looks at model names:

* a model file (the engine's ``.bin``): ``sha256:<hash of the file>``;
* a converted folder (``kb_conversion.json``): the hash of the file it was
  converted from, as the conversion recorded it, so it equals the engine's;
* any other sentence-transformers folder: ``files:<hash>`` over the names and
  contents of its config, tokenizer and weight files.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from kb.errors import ConversionError
from kb.models.e5_marker import read_marker

# not part of the weights: documentation, VCS files, other export formats
_SKIP_NAMES = frozenset({"README.md", ".gitattributes", "kb_conversion.json"})
_SKIP_DIRS = frozenset({"onnx", "openvino", ".git", ".cache"})


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise ConversionError(f"cannot read model file {path}: {exc.strerror}") from exc
    return h.hexdigest()


def source_weights_id(sha256: str) -> str:
    """The weights id of a model file with this sha256 (and of its conversions)."""
    return f"sha256:{sha256}"


def folder_weights_id(folder: Path) -> str:
    """The weights id of a sentence-transformers folder: its conversion source when
    kb converted it, else a hash of its files (names and contents)."""
    info = read_marker(folder)
    if info is not None and info.source_sha256:
        return source_weights_id(info.source_sha256)
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or path.name in _SKIP_NAMES or _SKIP_DIRS & set(rel.parts[:-1]):
            continue
        h.update(f"{rel.as_posix()}\x00{path.stat().st_size}\x00".encode())
        h.update(file_sha256(path).encode())
    return f"files:{h.hexdigest()}"
