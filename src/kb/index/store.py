"""The index directory: build (incrementally, atomically, under a lock) and load.

Layout of ``index_dir``::

    CURRENT              name of the live build directory (replaced atomically)
    .lock                held while a build runs
    build-<stamp>/       one complete build
        manifest.json
        chunks.jsonl     one chunk per line (offsets, section, sentences)
        chunks.faiss     FAISS IndexFlatIP over chunk vectors
        sentences.faiss  FAISS IndexFlatIP over sentence vectors
        sentence_chunk.npy  row -> chunk row
        vector_keys.json    text keys of the chunk and sentence vectors (embedding cache)
        lexical_tokens.json BM25 tokens of each chunk (token cache)
        lexical/         BM25 arrays + vocabulary

A build writes a new ``build-*`` directory beside the live one and then switches
``CURRENT`` with one ``os.replace``; a reader resolves ``CURRENT`` once, so it
never sees a half-written index, and a build killed at any moment leaves the
previous one in place. Unchanged documents keep their chunks, and any text
already embedded by the same model (same key) reuses its vector.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from filelock import FileLock, Timeout

from kb import threads
from kb.errors import BadIndexError, BuildLocked
from kb.index import ann
from kb.index.derived import Derived, build_derived
from kb.index.embed import Embedder, text_key
from kb.index.lexical import BM25Index, BM25Params
from kb.index.manifest import FORMAT_VERSION, REBUILD_HINT, DocEntry, Manifest
from kb.index.tokenize import Tokenizer, TokenizerConfig
from kb.ingest.chunk import ChunkerConfig, chunk_document
from kb.ingest.document import Block, Chunk, Document, Sentence
from kb.ingest.load import Skipped

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
LOCK = ".lock"
TMP_PREFIX = ".tmp-build-"
TOKENS = "lexical_tokens.json"
SECOND_FILE = "sentences_second.faiss"
EMBED_RECIPE = "{prompt}{title} | {section}\n{text}"

# progress(stage, done, total)
Progress = Callable[[str, int, int], None]


def chunk_embed_text(chunk: Chunk) -> str:
    """What is embedded for a chunk: its title and section, then its text."""
    return f"{chunk.header()}\n{chunk.text}"


def sentence_embed_text(chunk: Chunk, sentence: Sentence) -> str:
    return f"{chunk.header()}: {sentence.text}"


def second_sentence_text(chunk: Chunk, sentence: Sentence) -> str:
    """What the second encoder embeds for a sentence: the article title and the
    sentence (the section heading as well measured worse: holdout MRR@10 0.828
    against 0.855)."""
    return f"{chunk.title}: {sentence.text}"


@dataclass
class KnowledgeIndex:
    """A loaded, read-only index."""

    path: Path
    manifest: Manifest
    chunks: list[Chunk]
    chunk_vectors: faiss.Index
    sentence_vectors: faiss.Index
    sentence_chunk: np.ndarray
    bm25: BM25Index
    tokenizer: Tokenizer
    # the sentences as the second encoder sees them (None: built without one)
    second_vectors: faiss.Index | None = None
    derived: Derived | None = None  # build-time query data (index/derived.py)
    doc_langs: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.doc_langs = np.asarray([c.lang for c in self.chunks])


@dataclass(frozen=True)
class BuildReport:
    """What one ``build_index`` call did.

    ``added`` / ``changed`` / ``removed`` are corpus-relative sources, compared with
    the previous live build by document id and sha256 of the file bytes (a document
    whose file was renamed to another extension counts as changed). ``unchanged``
    is how many documents kept their chunks as they were.

    Every chunk is embedded twice over: once as a whole (``chunk_embed_text``) and
    once per sentence (``sentence_embed_text``). ``chunks_embedded`` is the number
    of those texts, chunk and sentence texts together, counted once per distinct
    text, that were actually run through the embedding model in this build;
    ``chunks_reused`` is the number of distinct texts whose vector came from the
    embedding cache instead: the previous build's vectors, plus any that a build
    killed part-way had already made (same model only; none with ``rebuild``). Their sum is the
    number of distinct chunk and sentence texts in the new index, so an
    unchanged corpus reports ``chunks_embedded == 0``.

    ``seconds`` is the wall time of the whole build (lock held); ``timings``
    breaks it down by stage (seconds).
    """

    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: int
    chunks_embedded: int
    chunks_reused: int
    seconds: float
    documents: int
    chunks: int
    skipped: list[Skipped]
    path: Path
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for people (the CLI prints it, the UI capitalizes it)."""
        return (
            f"indexed {self.documents} documents, {self.chunks} chunks in {self.seconds:.1f}s "
            f"(added {len(self.added)}, changed {len(self.changed)}, "
            f"removed {len(self.removed)}, unchanged {self.unchanged}; "
            f"{self.chunks_embedded} texts embedded, {self.chunks_reused} reused)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "chunks_embedded": self.chunks_embedded,
            "chunks_reused": self.chunks_reused,
            "seconds": round(self.seconds, 3),
            "documents": self.documents,
            "chunks": self.chunks,
            "skipped": [{"source": s.source, "reason": s.reason} for s in self.skipped],
            "index": str(self.path),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


# ---------------------------------------------------------------- locating


def _pointer(index_dir: Path) -> str | None:
    """The build name CURRENT holds (None when there is no CURRENT)."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return ""
    return name


def current_build(index_dir: Path) -> Path | None:
    """The live build directory, or None (no index, or CURRENT names a missing build)."""
    name = _pointer(index_dir)
    if not name or "/" in name or "\\" in name or name in {".", ".."}:
        return None
    build = index_dir / name
    return build if build.is_dir() else None


# ---------------------------------------------------------------- reading


def _chunk_to_json(c: Chunk) -> str:
    return json.dumps(
        {
            "chunk_id": c.chunk_id,
            "doc_id": c.doc_id,
            "source": c.source,
            "title": c.title,
            "section": c.section,
            "lang": c.lang,
            "start": c.start,
            "end": c.end,
            "text": c.text,
            "raw": c.raw,
            "sentences": [_sentence_to_json(s) for s in c.sentences],
            "blocks": [_block_to_json(b) for b in c.blocks],
        },
        ensure_ascii=False,
    )


def _chunk_from_json(line: str) -> Chunk:
    d = json.loads(line)
    return Chunk(
        chunk_id=d["chunk_id"],
        doc_id=d["doc_id"],
        source=d["source"],
        title=d["title"],
        section=d["section"],
        lang=d["lang"],
        start=int(d["start"]),
        end=int(d["end"]),
        text=d["text"],
        raw=d["raw"],
        sentences=tuple(_sentence_from_json(s) for s in d["sentences"]),
        blocks=tuple(_block_from_json(b) for b in d.get("blocks", [])),
    )


def _sentence_to_json(s: Sentence) -> list[object]:
    if s.instruction:  # a sixth element, 1: an instruction, never evidence
        return [s.start, s.end, s.text, s.role, s.block, 1]
    return [s.start, s.end, s.text, s.role, s.block] if s.role else [s.start, s.end, s.text]


def _sentence_from_json(v: list[Any]) -> Sentence:
    if len(v) >= 5:
        return Sentence(
            int(v[0]), int(v[1]), str(v[2]), str(v[3]), int(v[4]), len(v) > 5 and bool(v[5])
        )
    return Sentence(int(v[0]), int(v[1]), str(v[2]))


def _block_to_json(b: Block) -> dict[str, object]:
    return {
        "kind": b.kind,
        "section": b.section,
        "start": b.start,
        "end": b.end,
        "raw": b.raw,
        "lead": _sentence_to_json(b.lead) if b.lead is not None else None,
        "header": _sentence_to_json(b.header) if b.header is not None else None,
        "items": [_sentence_to_json(s) for s in b.items],
    }


def _block_from_json(d: dict[str, Any]) -> Block:
    return Block(
        kind=str(d["kind"]),
        section=str(d["section"]),
        start=int(d["start"]),
        end=int(d["end"]),
        raw=str(d["raw"]),
        lead=_sentence_from_json(d["lead"]) if d.get("lead") else None,
        header=_sentence_from_json(d["header"]) if d.get("header") else None,
        items=tuple(_sentence_from_json(s) for s in d["items"]),
    )


def load_index(
    index_dir: Path, model_id: str | None = None, compatible: Callable[[str], bool] | None = None
) -> KnowledgeIndex:
    """Open the live build; ``model_id`` (if given) must match the one it was built with.

    Raises BadIndexError (one line, saying how to fix it) when there is no index
    or it is damaged or does not match. A build that another process switches
    away from and deletes while we read it is retried on the new live build.
    """
    for attempt in range(3):
        build = current_build(index_dir)
        if build is None:
            name = _pointer(index_dir)
            if name is None:
                raise BadIndexError(f"no index at {index_dir}: run `kb index` first")
            raise BadIndexError(
                f"index at {index_dir} is damaged (CURRENT names {name!r}, which does not "
                f"exist): {REBUILD_HINT}"
            )
        try:
            return _load_build(build, model_id, compatible)
        except BadIndexError:
            if attempt < 2 and current_build(index_dir) != build:
                continue  # switched (and maybe collected) under us: read the new one
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _load_build(
    build: Path, model_id: str | None, compatible: Callable[[str], bool] | None = None
) -> KnowledgeIndex:
    manifest = Manifest.read(build)
    if model_id is not None:
        manifest.check_model(model_id, compatible)
    try:
        tok_cfg = TokenizerConfig.from_dict(manifest.tokenizer)
        chunks = [
            _chunk_from_json(line)
            for line in (build / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        chunk_vectors = ann.read(build / "chunks.faiss")  # mmap
        sentence_vectors = ann.read(build / "sentences.faiss")  # mmap
        sentence_chunk = np.load(build / "sentence_chunk.npy", allow_pickle=False)
        bm25 = BM25Index.load(build / "lexical")
        second_vectors = ann.read(build / SECOND_FILE) if manifest.second_model else None
        derived = Derived.load(build)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise BadIndexError(f"index at {build} is damaged ({reason}): {REBUILD_HINT}") from None
    dim = manifest.model.get("dim")
    if not (
        len(chunks) == chunk_vectors.ntotal == bm25.n_docs == manifest.counts.get("chunks")
        and sentence_vectors.ntotal == len(sentence_chunk) == manifest.counts.get("sentences")
        and chunk_vectors.d == sentence_vectors.d == dim
        and (
            second_vectors is None
            or (
                second_vectors.ntotal == sentence_vectors.ntotal
                and second_vectors.d == manifest.second_model.get("dim")
            )
        )
    ):
        raise BadIndexError(f"index at {build} is inconsistent (counts differ): {REBUILD_HINT}")
    return KnowledgeIndex(
        path=build,
        manifest=manifest,
        chunks=chunks,
        chunk_vectors=chunk_vectors,
        sentence_vectors=sentence_vectors,
        sentence_chunk=sentence_chunk,
        bm25=bm25,
        tokenizer=Tokenizer(tok_cfg),
        second_vectors=second_vectors,
        derived=derived,
    )


def _reuse_source(index_dir: Path) -> Path | None:
    """The build whose chunks and vectors a new build may reuse: the live one, or,
    when CURRENT is missing or names a deleted build, the newest complete build
    left in the folder (``build-*`` directories are only ever made by renaming a
    finished, fsynced temporary directory)."""
    live = current_build(index_dir)
    if live is not None:
        return live
    for build in sorted(index_dir.glob("build-*"), reverse=True):
        if (build / "manifest.json").is_file():
            log.warning("no live index in %s; reusing what %s holds", index_dir, build.name)
            return build
    return None


def _same_model(model: dict[str, Any], embedder: Embedder) -> bool:
    return all(model.get(k) == v for k, v in _model_info(embedder).items())


def _runtime(embedder: Embedder) -> str:
    return str(getattr(embedder, "runtime", embedder.model_id))


MAIN_VECTORS = (("chunks", "chunks.faiss"), ("sentences", "sentences.faiss"))
SECOND_VECTORS = (("second_sentences", SECOND_FILE),)


def _previous_vectors(
    build: Path,
    model: dict[str, Any],
    embedder: Embedder,
    files: Sequence[tuple[str, str]] = MAIN_VECTORS,
) -> dict[str, np.ndarray]:
    """Embedding cache from a previous build: text key -> vector (same model only).
    ``model`` is what the previous manifest says made the vectors in ``files``."""
    if not _same_model(model, embedder):
        log.info("previous index used another %s: embedding everything", files[0][0])
        return {}
    try:
        keys = json.loads((build / "vector_keys.json").read_text(encoding="utf-8"))
        out: dict[str, np.ndarray] = {}
        for name, index_file in files:
            idx = faiss.read_index(str(build / index_file))
            if idx.d != embedder.dim:
                return {}
            vecs = idx.reconstruct_n(0, idx.ntotal) if idx.ntotal else np.zeros((0, idx.d))
            out.update(zip(keys[name], vecs, strict=True))
        return out
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        log.warning("previous index vectors not reusable (%s); embedding everything", exc)
        return {}


def _previous_chunks(build: Path) -> tuple[Manifest | None, dict[str, list[Chunk]]]:
    """The previous build's manifest and chunks by document (each None/empty when
    unreadable: a damaged chunks file still leaves its vectors reusable)."""
    try:
        manifest = Manifest.read(build)
    except BadIndexError as exc:
        log.warning("previous index unreadable (%s); building from scratch", exc)
        return None, {}
    try:
        by_doc: dict[str, list[Chunk]] = {}
        for line in (build / "chunks.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                c = _chunk_from_json(line)
                by_doc.setdefault(c.doc_id, []).append(c)
        return manifest, by_doc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("previous chunks unreadable (%s); chunking every document again", exc)
        return manifest, {}


def _previous_tokens(build: Path, fingerprint: str) -> dict[str, list[str]]:
    """Token cache: lexical-text key -> tokens, from a build made with the same
    tokenizer (tokenizing every chunk again is most of an incremental build's
    BM25 time)."""
    try:
        with open(build / TOKENS, encoding="utf-8") as f:
            saved = json.load(f)
        if saved.get("tokenizer") != fingerprint:
            return {}
        return dict(zip(saved["keys"], saved["tokens"], strict=True))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.info("previous tokens not reusable (%s)", exc)
        return {}


@functools.cache
def _ingest_fingerprint() -> str:
    """Hash of the code that turns files into chunks: chunks of an unchanged file are
    reused only if this code is unchanged too (their vectors are reused either way
    when the texts come out the same). Computed once per process, so a long-running
    watcher keeps the fingerprint of the code it runs, not of later edits on disk."""
    import kb.ingest
    from kb import scripts

    h = hashlib.sha256()
    files = [*sorted(Path(kb.ingest.__file__).parent.glob("*.py")), Path(scripts.__file__)]
    for file in files:  # every module of the ingest stage, and the script table it uses
        h.update(file.name.encode())
        h.update(file.read_bytes())
    return h.hexdigest()[:16]


class _EmbedJournal:
    """Vectors embedded by a build, appended to its work folder as they are made, so
    a build that is killed part-way does not lose them: the next build salvages
    them (``_salvage_vectors``) before removing the folder.

    ``embedded.json`` names the model; ``embedded.keys`` holds one text key per
    line and ``embedded.f32`` the matching float32 rows (a torn tail is ignored)."""

    def __init__(self, folder: Path, embedder: Embedder) -> None:
        self.folder = folder
        self.dim = embedder.dim
        (folder / "embedded.json").write_text(
            json.dumps({"model": _model_info(embedder)}), encoding="utf-8"
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
        for name in ("embedded.json", "embedded.keys", "embedded.f32"):
            (self.folder / name).unlink(missing_ok=True)


def _salvage_vectors(index_dir: Path, embedder: Embedder) -> dict[str, np.ndarray]:
    """Vectors that killed builds (same model) had already embedded."""
    out: dict[str, np.ndarray] = {}
    for folder in sorted(index_dir.glob(f"{TMP_PREFIX}*")):
        try:
            info = json.loads((folder / "embedded.json").read_text(encoding="utf-8"))
            if info.get("model") != _model_info(embedder):
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


def _model_info(embedder: Embedder) -> dict[str, Any]:
    return {"id": embedder.model_id, "dim": embedder.dim, "runtime": _runtime(embedder)}


# ---------------------------------------------------------------- building


EMBED_SLICE = 32  # texts per call to the model between journal writes


def _embed_groups(
    embedder: Embedder,
    groups: Sequence[tuple[str, list[str]]],
    cache: dict[str, np.ndarray],
    progress: Progress | None,
    journal: _EmbedJournal | None = None,
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


def _flat_index(vectors: np.ndarray, dim: int) -> faiss.Index:
    return ann.build(vectors, dim)  # flat, or HNSW beyond KB_ANN_THRESHOLD


def build_index(
    documents: Sequence[Document],
    index_dir: Path,
    embedder: Embedder,
    chunker: ChunkerConfig,
    tokenizer_config: TokenizerConfig | None = None,
    skipped: Sequence[Skipped] = (),
    rebuild: bool = False,
    progress: Progress | None = None,
    keep_builds: int = 1,
    second: Embedder | None = None,
) -> BuildReport:
    """Build (or update) the index for ``documents`` and switch to it atomically.

    ``second`` (optional) embeds every sentence once more with a second encoder
    (``index/second_encoder.py``); its vectors are cached by text the same way.

    Incremental unless ``rebuild``: documents are compared with the previous build
    by id and content hash; unchanged ones keep their chunks, and every chunk or
    sentence text already embedded (same model) keeps its vector. Raises
    BuildLocked at once if another build holds the lock. ``keep_builds`` older
    builds are kept for readers that still have them open.
    """
    t0 = time.perf_counter()
    tokenizer_config = tokenizer_config or TokenizerConfig()
    threads.configure("build")  # torch on every core, FAISS/BLAS on one
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise BuildLocked(
            f"another `kb index` is building {index_dir} (lock {index_dir / LOCK} is held); "
            "wait for it to finish"
        ) from None
    try:
        # The work folder exists from the start, so a build in progress (or one
        # killed part-way) is visible; the next build removes what a killed one left.
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + f"-{os.getpid()}"
        tmp = index_dir / f"{TMP_PREFIX}{stamp}"
        tmp.mkdir()
        try:
            return _build_locked(
                documents,
                index_dir,
                embedder,
                chunker,
                tokenizer_config,
                skipped,
                rebuild,
                progress,
                keep_builds,
                t0,
                tmp,
                index_dir / f"build-{stamp}",
                second,
            )
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    finally:
        lock.release()


def _build_locked(
    documents: Sequence[Document],
    index_dir: Path,
    embedder: Embedder,
    chunker: ChunkerConfig,
    tokenizer_config: TokenizerConfig,
    skipped: Sequence[Skipped],
    rebuild: bool,
    progress: Progress | None,
    keep_builds: int,
    t0: float,
    tmp: Path,
    final: Path,
    second: Embedder | None = None,
) -> BuildReport:
    timings: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal mark
        now_ = time.perf_counter()
        timings[stage] = timings.get(stage, 0.0) + now_ - mark
        mark = now_

    fingerprint = _ingest_fingerprint()
    source = None if rebuild else _reuse_source(index_dir)
    old_manifest, old_chunks = _previous_chunks(source) if source is not None else (None, {})
    same_chunking = (
        old_manifest is not None
        and old_manifest.chunker == chunker.describe()
        and old_manifest.build.get("ingest") == fingerprint
    )
    old_docs = old_manifest.documents if old_manifest else {}
    cache = (
        _previous_vectors(source, old_manifest.model, embedder)
        if source is not None and old_manifest is not None
        else {}
    )
    if not rebuild:
        cache.update(_salvage_vectors(index_dir, embedder))
    lap("read previous")

    now = datetime.now(UTC).isoformat(timespec="seconds")
    added: list[str] = []
    changed: list[str] = []
    unchanged = 0
    chunks: list[Chunk] = []
    entries: dict[str, DocEntry] = {}
    ordered = sorted(documents, key=lambda d: d.source)
    for i, doc in enumerate(ordered):
        if doc.doc_id in entries:
            raise ValueError(
                f"two documents have the id {doc.doc_id!r}: {entries[doc.doc_id].source} "
                f"and {doc.source}"
            )
        prev = old_docs.get(doc.doc_id)
        same = (
            prev is not None and prev.content_hash == doc.content_hash and prev.source == doc.source
        )
        if prev is None:
            added.append(doc.source)
        elif not same:
            changed.append(doc.source)
        else:
            unchanged += 1
        reusable = old_chunks.get(doc.doc_id)
        if (
            same
            and same_chunking
            and prev is not None
            and reusable is not None
            and [c.chunk_id for c in reusable] == prev.chunk_ids  # all of them, none torn off
        ):
            doc_chunks = reusable
            indexed_at = prev.indexed_at
        else:
            doc_chunks = chunk_document(doc, chunker)
            indexed_at = now
        chunks.extend(doc_chunks)
        entries[doc.doc_id] = DocEntry(
            source=doc.source,
            title=doc.title,
            lang=doc.lang,
            encoding=doc.encoding,
            content_hash=doc.content_hash,
            chunk_ids=[c.chunk_id for c in doc_chunks],
            indexed_at=indexed_at,
        )
        if progress:
            progress("chunk", i + 1, len(ordered))
    removed = sorted(e.source for k, e in old_docs.items() if k not in entries)
    lap("chunk")

    chunk_texts = [chunk_embed_text(c) for c in chunks]
    sent_texts: list[str] = []
    sent_rows: list[int] = []
    for row, c in enumerate(chunks):
        for s in c.sentences:
            sent_texts.append(sentence_embed_text(c, s))
            sent_rows.append(row)
    journal = _EmbedJournal(tmp, embedder)
    ((chunk_vecs, chunk_keys), (sent_vecs, sent_keys)), embedded = _embed_groups(
        embedder,
        [("embed chunks", chunk_texts), ("embed sentences", sent_texts)],
        cache,
        progress,
        journal,
    )
    journal.close()
    distinct = len(set(chunk_keys) | set(sent_keys))
    del cache
    lap("embed")
    second_vecs: np.ndarray | None = None
    second_keys: list[str] = []
    if second is not None:
        # cheap next to the main model (no crash journal: re-embedding is quick)
        second_cache = (
            _previous_vectors(source, old_manifest.second_model, second, SECOND_VECTORS)
            if source is not None and old_manifest is not None
            else {}
        )
        second_texts = [second_sentence_text(c, s) for c in chunks for s in c.sentences]
        ((second_vecs, second_keys),), second_embedded = _embed_groups(
            second, [("embed sentences (second encoder)", second_texts)], second_cache, progress
        )
        embedded += second_embedded
        distinct += len(set(second_keys))
        del second_cache
        lap("embed second")

    tokenizer = Tokenizer(tokenizer_config)
    token_fp = tokenizer_config.fingerprint()
    old_tokens = _previous_tokens(source, token_fp) if source is not None else {}
    token_keys: list[str] = []
    token_lists: list[list[str]] = []
    for c in chunks:
        text = chunk_embed_text(c)  # BM25 reads what the embedder reads
        key = hashlib.sha256(text.encode()).hexdigest()[:32]
        tokens = old_tokens.get(key)
        token_keys.append(key)
        token_lists.append(tokens if tokens is not None else tokenizer(text))
    del old_tokens
    bm25 = BM25Index.build(token_lists, BM25Params())
    lap("bm25")

    with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
        f.writelines(_chunk_to_json(c) + "\n" for c in chunks)
    faiss.write_index(_flat_index(chunk_vecs, embedder.dim), str(tmp / "chunks.faiss"))
    faiss.write_index(_flat_index(sent_vecs, embedder.dim), str(tmp / "sentences.faiss"))
    rows = np.asarray(sent_rows, dtype=np.int32)
    np.save(tmp / "sentence_chunk.npy", rows, allow_pickle=False)
    derived_info = build_derived(tmp, chunks, tokenizer, chunk_vecs, sent_vecs, rows)
    lap("derived")
    vector_keys: dict[str, list[str]] = {"chunks": chunk_keys, "sentences": sent_keys}
    if second is not None and second_vecs is not None:
        faiss.write_index(_flat_index(second_vecs, second.dim), str(tmp / SECOND_FILE))
        vector_keys["second_sentences"] = second_keys
    (tmp / "vector_keys.json").write_text(json.dumps(vector_keys), encoding="utf-8")
    bm25.save(tmp / "lexical")
    with open(tmp / TOKENS, "w", encoding="utf-8") as f:
        json.dump(
            {"tokenizer": token_fp, "keys": token_keys, "tokens": token_lists},
            f,
            ensure_ascii=False,
            separators=(",", ":"),
        )
    seconds = time.perf_counter() - t0
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        created_at=now,
        model={
            "id": embedder.model_id,
            "dim": embedder.dim,
            "prompts": embedder.prompts,
            "runtime": _runtime(embedder),
        },
        chunker=chunker.describe(),
        tokenizer={
            **tokenizer_config.to_dict(),
            "fingerprint": tokenizer_config.fingerprint(),
            "bm25": dataclasses.asdict(bm25.params),
        },
        embed_recipe=EMBED_RECIPE,
        documents=entries,
        counts={
            "documents": len(entries),
            "chunks": len(chunks),
            "sentences": len(sent_texts),
            "vocabulary": len(bm25.vocab),
        },
        skipped=[{"source": s.source, "reason": s.reason} for s in skipped],
        build={
            "seconds": round(seconds, 3),
            "texts_embedded": embedded,
            "distinct_texts": distinct,
            "ingest": fingerprint,
            "ann": {  # the vector index kinds (index/ann.py)
                "chunks": ann.choose(len(chunks)).to_dict(),
                "sentences": ann.choose(len(sent_texts)).to_dict(),
                "threshold": ann.threshold(),
            },
            "derived": derived_info,
        },
        second_model=_model_info(second) if second is not None else {},
    )
    manifest.write(tmp)
    lap("write")
    _fsync_tree(tmp)
    os.rename(tmp, final)
    _switch(index_dir, final.name)
    lap("fsync+switch")
    _collect_garbage(index_dir, keep=final.name, keep_builds=keep_builds)
    lap("gc")
    return BuildReport(
        added=added,
        changed=changed,
        removed=removed,
        unchanged=unchanged,
        chunks_embedded=embedded,
        chunks_reused=distinct - embedded,
        seconds=time.perf_counter() - t0,
        documents=len(entries),
        chunks=len(chunks),
        skipped=list(skipped),
        path=final,
        timings=timings,
    )


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(directory: Path) -> None:
    """Flush every file and directory entry under ``directory`` to disk."""
    dirs = [directory]
    for p in directory.rglob("*"):
        if p.is_dir():
            dirs.append(p)
        elif p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
    for d in reversed(dirs):
        _fsync_dir(d)


def _switch(index_dir: Path, build_name: str) -> None:
    """Point CURRENT at ``build_name`` with one atomic rename."""
    tmp = index_dir / f".{CURRENT}.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(build_name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / CURRENT)
    _fsync_dir(index_dir)


def _collect_garbage(index_dir: Path, keep: str, keep_builds: int) -> None:
    """Remove older builds (keeping the ``keep_builds`` newest previous ones for
    readers that still have them open) and what killed builds left behind.
    Runs under the build lock, so no temporary directory here is in use."""
    builds = sorted(p for p in index_dir.glob("build-*") if p.is_dir() and p.name != keep)
    for p in builds[: max(0, len(builds) - keep_builds)]:
        shutil.rmtree(p, ignore_errors=True)
    for p in index_dir.glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in index_dir.glob(f".{CURRENT}.*"):
        p.unlink(missing_ok=True)
