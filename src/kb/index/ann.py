"""Vector indexes chosen by size: exact inner-product search while it is fast
enough, an inverted-file index (FAISS index factory) beyond ``Settings.ann_threshold``
(``KB_ANN_THRESHOLD``) vectors.

Exact search over 384-dim vectors costs about 0.6-0.9 ms per 10k vectors on one core
(6 ms at 100k, 53-94 ms at 1M, measured), so below the threshold (default 200,000)
the flat index is both exact and fast. Above it: ``IVF{nlist},SQ8,RFlat`` -- an IVF
whose lists hold 8-bit codes, ``NPROBE`` lists probed per query, its
``k * K_FACTOR`` candidates re-ranked exactly against the float vectors, which stay
one contiguous flat array (the retriever reads them as a zero-copy view,
``stored_vectors``). nlist is the power of two nearest ``4 * sqrt(n)`` (2048 at
200k, 4096 at 1M), trained on ``TRAIN_PER_LIST * nlist`` sampled vectors.

Measured (benchmarks/bench_ann.py, docs/notes-ann.md; real e5 vectors grown to 1M
with noisy copies, real questions, one thread, one query per call): recall@10
against exact 0.994 at nprobe 128 and 0.998 at 256 (10 ms p50) on the harder of two
grown sets, where HNSW32 (efConstruction 80) reached 0.92 at most; build 3.6 min on
two threads where HNSW took 21 min on one. nprobe 256 keeps a margin over the 0.99
target for corpora less regular than the stand-in.

The kind and its parameters are recorded in the manifest (``build.ann``) and read
back from the FAISS file itself; indexes built with the earlier HNSW choice still
open and search as they were built.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 200_000
# IVF (the choice above the threshold)
NPROBE = 256  # lists probed per query (at most nlist)
K_FACTOR = 4  # candidates re-ranked exactly per result
TRAIN_PER_LIST = 64  # training sample: this many vectors per list
MIN_PER_LIST = 39  # FAISS k-means wants at least this many points per centroid
TRAIN_SEED = 1234
# HNSW (the earlier choice; its files still open, and bench_ann.py measures it)
HNSW_M = 32
EF_CONSTRUCTION = 80
EF_SEARCH = 256


@dataclass(frozen=True)
class AnnSpec:
    kind: str  # "flat", "ivf" or "hnsw"
    factory: str  # the faiss.index_factory string
    ef_search: int = 0  # hnsw
    nprobe: int = 0  # ivf
    k_factor: int = 0  # ivf: exact re-ranking depth per result

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def ivf_lists(n_vectors: int) -> int:
    """The power of two nearest ``4 * sqrt(n)``, at most ``n / MIN_PER_LIST``."""
    target = 4 * math.sqrt(max(n_vectors, 1))
    nlist = int(2 ** round(math.log2(target)))
    while nlist > 1 and nlist * MIN_PER_LIST > n_vectors:
        nlist //= 2
    return nlist


def ivf_spec(n_vectors: int, nprobe: int = NPROBE, k_factor: int = K_FACTOR) -> AnnSpec:
    nlist = ivf_lists(n_vectors)
    return AnnSpec("ivf", f"IVF{nlist},SQ8,RFlat", nprobe=min(nprobe, nlist), k_factor=k_factor)


def hnsw_spec(m: int = HNSW_M, ef_search: int = EF_SEARCH) -> AnnSpec:
    return AnnSpec("hnsw", f"HNSW{m},Flat", ef_search=ef_search)


def choose(n_vectors: int, limit: int = DEFAULT_THRESHOLD) -> AnnSpec:
    """Flat below ``limit`` vectors (Settings.ann_threshold), IVF from there."""
    if n_vectors < limit:
        return AnnSpec("flat", "Flat")
    return ivf_spec(n_vectors)


def _ivf(index: faiss.Index) -> Any:
    """The IVF inside ``index`` (itself, or the base of a re-ranking wrapper), or None."""
    inner: Any = faiss.downcast_index(index)
    if isinstance(inner, faiss.IndexRefine):
        inner = faiss.downcast_index(inner.base_index)
    return inner if isinstance(inner, faiss.IndexIVF) else None


def train_sample(x: np.ndarray, nlist: int, seed: int = TRAIN_SEED) -> np.ndarray:
    """``TRAIN_PER_LIST * nlist`` rows of ``x`` (all of them when fewer), seeded."""
    size = TRAIN_PER_LIST * nlist
    if len(x) <= size:
        return x
    rows = np.sort(np.random.default_rng(seed).choice(len(x), size=size, replace=False))
    return np.ascontiguousarray(x[rows])


def build(vectors: np.ndarray, dim: int, spec: AnnSpec | None = None) -> faiss.Index:
    """An inner-product index over ``vectors`` (L2-normalized: cosine)."""
    x = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
    spec = spec or choose(len(x))
    index = faiss.index_factory(dim, spec.factory, faiss.METRIC_INNER_PRODUCT)
    if spec.kind == "hnsw":
        hnsw: Any = faiss.downcast_index(index)
        hnsw.hnsw.efConstruction = EF_CONSTRUCTION
        hnsw.hnsw.efSearch = spec.ef_search
    if spec.kind == "ivf":
        ivf = _ivf(index)
        if ivf is None:
            raise ValueError(f"{spec.factory!r} is not an IVF factory string")
        if len(x) < ivf.nlist:
            raise ValueError(f"{len(x)} vectors cannot train {ivf.nlist} IVF lists")
        ivf.nprobe = spec.nprobe
        outer: Any = faiss.downcast_index(index)
        if isinstance(outer, faiss.IndexRefine):
            outer.k_factor = float(spec.k_factor or 1)
        index.train(train_sample(x, ivf.nlist))
    if len(x):
        index.add(x)
    return index


def spec_of(index: faiss.Index) -> AnnSpec:
    """The kind and search parameters of a built (or read) index."""
    inner: Any = faiss.downcast_index(index)
    if isinstance(inner, faiss.IndexHNSW):
        graph: Any = inner.hnsw
        return hnsw_spec(graph.nb_neighbors(1), int(graph.efSearch))
    ivf = _ivf(index)
    if ivf is not None:
        refine = isinstance(inner, faiss.IndexRefine)
        codes = "SQ8" if isinstance(ivf, faiss.IndexIVFScalarQuantizer) else "Flat"
        factory = f"IVF{ivf.nlist},{codes}" + (",RFlat" if refine else "")
        k_factor = int(inner.k_factor) if refine else 0
        return AnnSpec("ivf", factory, nprobe=int(ivf.nprobe), k_factor=k_factor)
    return AnnSpec("flat", "Flat")


def read(path: Path, mmap: bool = True) -> faiss.Index:
    """Read a FAISS file, its vectors memory-mapped (read-only, zero-copy) where
    FAISS supports it: flat arrays, HNSW storage, IVF lists (IO_FLAG_MMAP_IFC)."""
    if mmap:
        # IO_FLAG_MMAP_IFC: FAISS >= 1.10; before it only IVF lists could be mapped
        flag = getattr(faiss, "IO_FLAG_MMAP_IFC", faiss.IO_FLAG_MMAP)
        try:
            return faiss.read_index(str(path), flag | faiss.IO_FLAG_READ_ONLY)
        except RuntimeError:
            log.debug("%s cannot be memory-mapped; reading it", path)
    return faiss.read_index(str(path))


def stored_vectors(index: faiss.Index) -> np.ndarray:
    """The [ntotal, d] float32 vectors a flat index holds (alone, as HNSW storage,
    or as the exact re-ranking stage of an IVF), as a zero-copy view (no
    reconstruction). The view does not keep ``index`` alive: hold a reference to
    the index for as long as the view is used."""
    inner = faiss.downcast_index(index)
    if isinstance(inner, faiss.IndexHNSW):
        inner = faiss.downcast_index(inner.storage)
    elif isinstance(inner, faiss.IndexRefine):
        inner = faiss.downcast_index(inner.refine_index)
    if not isinstance(inner, faiss.IndexFlat):
        raise TypeError(f"no stored float vectors in {type(inner).__name__}")
    n, d = int(inner.ntotal), int(inner.d)
    if n == 0:
        return np.zeros((0, d), dtype=np.float32)
    codes = faiss.rev_swig_ptr(inner.get_xb(), n * d)
    return np.asarray(codes).reshape(n, d)
