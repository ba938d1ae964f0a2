"""The embedding cache: vectors keyed by (model, text), so a build embeds only
texts no earlier build has embedded with the same model.

Sources, in order: the previous build's vectors (``vector_keys.json`` names the
key of every row of every field), then what builds killed part-way had already
embedded (their journal, ``EmbedJournal``, salvaged by ``salvage_vectors``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from kb.index.fields import VectorField
from kb.index.layout import work_folders
from kb.models.base import Embedder, text_key

log = logging.getLogger(__name__)

VECTOR_KEYS = "vector_keys.json"
EMBED_SLICE = 32  # texts per call to the model between journal writes

# progress(stage, done, total)
Progress = Callable[[str, int, int], None]


def runtime(embedder: Embedder) -> str:
    return str(getattr(embedder, "runtime", embedder.model_id))


def model_info(embedder: Embedder) -> dict[str, Any]:
    """What identifies the vectors an embedder makes: id, weights, dim and runtime."""
    return {
        "id": embedder.model_id,
        "weights": embedder.weights_id,
        "dim": embedder.dim,
        "runtime": runtime(embedder),
    }


def same_model(model: dict[str, Any], embedder: Embedder) -> bool:
    return all(model.get(k) == v for k, v in model_info(embedder).items())


def previous_vectors(
    build: Path,
    recorded: dict[str, dict[str, Any]],
    embedder: Embedder,
    fields: Sequence[VectorField],
) -> dict[str, np.ndarray]:
    """Text key -> vector from a previous build, for those of ``fields`` that it
    holds and that ``embedder`` made (``recorded``: its manifest's field records
    by name)."""
    usable = [f for f in fields if f.name in recorded]
    usable = [f for f in usable if same_model(recorded[f.name].get("embedder", {}), embedder)]
    if len(usable) < len(fields):
        log.info("previous index has no %s vectors of this model", fields[0].encoder)
    if not usable:
        return {}
    try:
        keys = json.loads((build / VECTOR_KEYS).read_text(encoding="utf-8"))
        out: dict[str, np.ndarray] = {}
        for f in usable:
            idx = faiss.read_index(str(build / f.file))
            if idx.d != embedder.dim:
                return {}
            vecs = idx.reconstruct_n(0, idx.ntotal) if idx.ntotal else np.zeros((0, idx.d))
            out.update(zip(keys[f.name], vecs, strict=True))
        return out
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        log.warning("previous index vectors not reusable (%s); embedding everything", exc)
        return {}


class EmbedJournal:
    """Vectors embedded by a build, appended to its work folder as they are made, so
    a build that is killed part-way does not lose them: the next build salvages
    them (``salvage_vectors``) before removing the folder.

    ``embedded.json`` names the model; ``embedded.keys`` holds one text key per
    line and ``embedded.f32`` the matching float32 rows (a torn tail is ignored).
    ``close`` only stops writing: the files stay until ``discard_journal`` just
    before the work folder becomes the build, so a build killed after its main
    embedding (in the second encoder, BM25 or writing) keeps that work too."""

    def __init__(self, folder: Path, embedder: Embedder) -> None:
        self.folder = folder
        self.dim = embedder.dim
        (folder / "embedded.json").write_text(
            json.dumps({"model": model_info(embedder)}), encoding="utf-8"
        )
        self._keys = open(folder / "embedded.keys", "a", encoding="ascii")  # noqa: SIM115
        self._vecs = open(folder / "embedded.f32", "ab")  # noqa: SIM115

    def add(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        self._vecs.write(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
        self._vecs.flush()
        self._keys.write("".join(k + "\n" for k in keys))
        self._keys.flush()

    def close(self) -> None:
        self._keys.close()
        self._vecs.close()


JOURNAL_FILES = ("embedded.json", "embedded.keys", "embedded.f32")


def discard_journal(folder: Path) -> None:
    """Remove a work folder's journal, once the build's own files hold its vectors
    (right before the folder is published: a build folder carries no journal)."""
    for name in JOURNAL_FILES:
        (folder / name).unlink(missing_ok=True)


def salvage_vectors(index_dir: Path, embedder: Embedder) -> dict[str, np.ndarray]:
    """Vectors that killed builds (same model) had already embedded."""
    out: dict[str, np.ndarray] = {}
    for folder in work_folders(index_dir):
        try:
            info = json.loads((folder / "embedded.json").read_text(encoding="utf-8"))
            if info.get("model") != model_info(embedder):
                continue
            keys = (folder / "embedded.keys").read_text(encoding="ascii").split("\n")[:-1]
            raw = (folder / "embedded.f32").read_bytes()
            rows = min(len(keys), len(raw) // (4 * embedder.dim))
            vecs = np.frombuffer(raw[: rows * 4 * embedder.dim], dtype=np.float32)
            out.update(zip(keys[:rows], vecs.reshape(rows, embedder.dim), strict=True))
        except (OSError, ValueError, UnicodeDecodeError, AttributeError):
            continue
    if out:
        log.info("salvaged %d vectors from interrupted builds", len(out))
    return out


def embed_groups(
    embedder: Embedder,
    groups: Sequence[tuple[str, list[str]]],
    cache: dict[str, np.ndarray],
    progress: Progress | None,
    journal: EmbedJournal | None = None,
) -> tuple[list[tuple[np.ndarray, list[str]]], int]:
    """Vectors for each (stage, texts) group, embedding only the distinct texts not
    in ``cache`` (which gains them). Returns per group (matrix, keys), and the
    number of texts embedded.

    Each call to the model has a fixed cost, so when few texts are missing in all
    (the usual incremental build) they go to the model together in one call;
    otherwise group by group, longest first within each (less padding), with
    progress reported per stage.
    """
    keyed = [[text_key(embedder.model_id, t) for t in texts] for _, texts in groups]
    missing: list[list[tuple[str, str]]] = []
    seen: set[str] = set()
    for keys, (_, texts) in zip(keyed, groups, strict=True):
        todo: dict[str, str] = {}
        for k, t in zip(keys, texts, strict=True):
            if k not in cache and k not in seen:
                todo[k] = t
                seen.add(k)
        missing.append(sorted(todo.items(), key=lambda kv: len(kv[1]), reverse=True))
    total = sum(len(m) for m in missing)
    # an embedder may take bigger slices (kb/index/ray_build.py: one Ray job each)
    step = int(getattr(embedder, "embed_slice", EMBED_SLICE))

    def run(items: list[tuple[str, str]], tick: Callable[[int], None] | None) -> None:
        for i in range(0, len(items), step):
            part = items[i : i + step]
            vecs = embedder.encode_passages([t for _, t in part], progress=tick)
            if len(vecs) != len(part):
                raise RuntimeError(f"embedder returned {len(vecs)} vectors for {len(part)} texts")
            if journal is not None:
                journal.add([k for k, _ in part], vecs)
            for (k, _), v in zip(part, vecs, strict=True):
                cache[k] = v

    if total <= EMBED_SLICE:
        if progress:
            progress(groups[0][0], 0, len(missing[0]))
        run([kv for m in missing for kv in m], None)
        for (stage, _), m in zip(groups, missing, strict=True):
            if progress:
                progress(stage, 0, len(m))
                progress(stage, len(m), len(m))
    else:
        for (stage, _), m in zip(groups, missing, strict=True):
            done = 0
            if progress:
                progress(stage, 0, len(m))

            def tick(n: int, stage: str = stage, size: int = len(m)) -> None:
                nonlocal done
                done += n
                if progress:
                    progress(stage, done, size)

            run(m, tick)
    out = []
    for keys in keyed:
        matrix = (
            np.vstack([cache[k] for k in keys]).astype(np.float32)
            if keys
            else np.zeros((0, embedder.dim), dtype=np.float32)
        )
        out.append((matrix, keys))
    return out, total
