"""manifest.json: what an index directory holds and how it was made.

Loading checks the manifest before anything else and refuses an index built
with another format version, model or tokenizer, with a message saying how to fix it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kb.errors import BadIndexError, IndexMismatchError

# 2: sentences carry list/table roles, chunks their blocks
# 3: derived/ (build-time query data), ANN (HNSW, now IVF) beyond a size threshold
# 4: vector fields as a list (index/fields.py), each with its embedder and recipe
# 5: every embedder record carries its weights id (models/identity.py)
FORMAT_VERSION = 5
MANIFEST = "manifest.json"
REBUILD_HINT = "run `kb index --rebuild`"


@dataclass(frozen=True)
class DocEntry:
    source: str
    title: str
    lang: str
    encoding: str
    content_hash: str
    chunk_ids: list[str]
    indexed_at: str


@dataclass(frozen=True)
class Manifest:
    format_version: int
    created_at: str
    model: dict[str, Any]  # the main encoder: id, weights, dim, prompts, runtime
    chunker: dict[str, Any]
    tokenizer: dict[str, Any]
    documents: dict[str, DocEntry]
    counts: dict[str, int]
    # the vector fields built (index/fields.py): name, file, rows, recipe, embedder, count
    fields: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    build: dict[str, Any] = field(default_factory=dict)

    def field_records(self) -> dict[str, dict[str, Any]]:
        """The vector fields this build holds, by name."""
        return {str(f["name"]): f for f in self.fields}

    def embedder_of(self, name: str) -> dict[str, Any]:
        """Id, dim and runtime of the model that embedded field ``name`` (empty: not built)."""
        return dict(self.field_records().get(name, {}).get("embedder", {}))

    def to_json(self) -> str:
        """One top-level key per line, values compact: readable, and written by
        json's C encoder (``indent`` would use the pure-Python one, slow with a
        thousand documents)."""
        items = sorted(asdict(self).items())
        body = ",\n".join(
            f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False, sort_keys=True)}"
            for k, v in items
        )
        return "{\n" + body + "\n}"

    def write(self, directory: Path) -> None:
        (directory / MANIFEST).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        if not path.is_file():
            raise BadIndexError(
                f"index at {directory} is damaged (manifest.json missing): {REBUILD_HINT}"
            )
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadIndexError(
                f"index manifest {path} is damaged ({exc}): {REBUILD_HINT}"
            ) from None
        if not isinstance(raw, dict):
            raise BadIndexError(f"index manifest {path} is damaged (not an object): {REBUILD_HINT}")
        version = raw.get("format_version")
        if version != FORMAT_VERSION:
            raise BadIndexError(
                f"index at {directory} has format version {version!r}, this kb reads "
                f"{FORMAT_VERSION}: {REBUILD_HINT}"
            )
        try:
            docs = {k: DocEntry(**v) for k, v in raw["documents"].items()}
            return cls(**{**raw, "documents": docs})
        except (KeyError, TypeError, AttributeError) as exc:
            raise BadIndexError(
                f"index manifest {path} is incomplete ({exc}): {REBUILD_HINT}"
            ) from None

    def check_model(self, model_id: str, weights_id: str) -> None:
        """Refuse an index whose vectors were made by other weights. Another
        runtime of the same weights (the bundled engine and its torch conversion:
        cosine >= 0.9998, equal rankings, benchmarks/bench_embed.py) is accepted;
        the next build re-embeds with it (the vector cache is keyed by model id)."""
        built = self.model.get("id")
        if self.model.get("weights") != weights_id:
            raise IndexMismatchError(
                f"index was built with model {built!r} but the current model is {model_id!r} "
                f"(other weights): {REBUILD_HINT} (or set KB_MODEL to the model it was built with)"
            )
