"""Vector indexes chosen by size: exact inner-product search while it is fast
enough, HNSW (FAISS index factory) beyond ``Settings.ann_threshold`` (``KB_ANN_THRESHOLD``) vectors.

Exact search over 384-dim vectors costs about 0.6 ms per 10k vectors on one core
(6 ms at 100k, measured), so below the threshold (default 200,000) the flat index
is both exact and fast; above it HNSW32 (efConstruction 80) with efSearch 256.
On real e5 vectors grown with noisy copies and queried with real questions
(benchmarks/bench_ann.py, README "Speed and scale") efSearch 128 gave recall@10 0.986
against exact search at 100k, 256 gave 0.998 at 1.4 ms. The kind and its
parameters are recorded in the manifest (``build.ann``) and read back from the
FAISS file itself.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 200_000
HNSW_M = 32
EF_CONSTRUCTION = 80
EF_SEARCH = 256


@dataclass(frozen=True)
class AnnSpec:
    kind: str  # "flat" or "hnsw"
    factory: str  # the faiss.index_factory string
    ef_search: int = 0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def choose(n_vectors: int, limit: int = DEFAULT_THRESHOLD) -> AnnSpec:
    """Flat below ``limit`` vectors (Settings.ann_threshold), HNSW from there."""
    if n_vectors < limit:
        return AnnSpec("flat", "Flat")
    return AnnSpec("hnsw", f"HNSW{HNSW_M},Flat", EF_SEARCH)


def build(vectors: np.ndarray, dim: int, spec: AnnSpec | None = None) -> faiss.Index:
    """An inner-product index over ``vectors`` (L2-normalized: cosine)."""
    x = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
    spec = spec or choose(len(x))
    index = faiss.index_factory(dim, spec.factory, faiss.METRIC_INNER_PRODUCT)
    if spec.kind == "hnsw":
        hnsw: Any = faiss.downcast_index(index)
        hnsw.hnsw.efConstruction = EF_CONSTRUCTION
        hnsw.hnsw.efSearch = spec.ef_search
    if len(x):
        index.add(x)
    return index


def spec_of(index: faiss.Index) -> AnnSpec:
    inner: Any = faiss.downcast_index(index)
    if isinstance(inner, faiss.IndexHNSW):
        graph: Any = inner.hnsw
        return AnnSpec("hnsw", f"HNSW{graph.nb_neighbors(1)},Flat", int(graph.efSearch))
    return AnnSpec("flat", "Flat")


def read(path: Path, mmap: bool = True) -> faiss.Index:
    """Read a FAISS file, memory-mapped where FAISS supports it (flat indexes)."""
    if mmap:
        try:
            return faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        except RuntimeError:
            log.debug("%s cannot be memory-mapped; reading it", path)
    return faiss.read_index(str(path))


def stored_vectors(index: faiss.Index) -> np.ndarray:
    """The [ntotal, d] float32 vectors a flat (or HNSW-over-flat) index holds,
    as a zero-copy view (no reconstruction). The view does not keep ``index``
    alive: hold a reference to the index for as long as the view is used."""
    inner = faiss.downcast_index(index)
    if isinstance(inner, faiss.IndexHNSW):
        inner = faiss.downcast_index(inner.storage)
    if not isinstance(inner, faiss.IndexFlat):
        raise TypeError(f"no stored float vectors in {type(inner).__name__}")
    n, d = int(inner.ntotal), int(inner.d)
    if n == 0:
        return np.zeros((0, d), dtype=np.float32)
    codes = faiss.rev_swig_ptr(inner.get_xb(), n * d)
    return np.asarray(codes).reshape(n, d)
