"""Thread counts for torch, FAISS (OpenMP) and the BLAS under NumPy.

Each library sizes its own pool to every core, so in one process they fight:
on a 2-core machine a single query spent more time switching threads than
computing (search p50 94 ms with the defaults, 41 ms with torch on one thread).

* ``query`` (answering one question at a time): every library on one thread.
  A query is a short chain of small operations (one sentence through the
  encoder, a few hundred dot products); one thread each is fastest and leaves
  the other cores to other requests (``Settings.query_threads``, ``KB_QUERY_THREADS``).
* ``build`` (batch indexing): torch gets every core (``Settings.build_threads``,
  ``KB_BUILD_THREADS``, overrides), FAISS and BLAS one thread, since the embedder's matrix
  products are where the time goes and the other pools would only compete.

``configure`` is idempotent and cheap; the numbers chosen are logged and
returned so benchmarks can record them (benchmarks/bench_query.py measures
both settings).
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from typing import Any, Literal

log = logging.getLogger(__name__)

Workload = Literal["query", "build"]
_blas_limit: Any = None  # the threadpoolctl limiter, kept alive while it applies


@dataclass(frozen=True)
class ThreadPlan:
    workload: str
    torch: int
    faiss: int
    blas: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def plan(workload: Workload, n: int = 0) -> ThreadPlan:
    """The plan for ``workload``; ``n`` threads (Settings.query_threads /
    build_threads), 0 for the default (one per query, every core for a build)."""
    if n < 0:
        raise ValueError(f"thread count must be at least 0, got {n}")
    if workload == "query":
        n = n or 1
        return ThreadPlan("query", torch=n, faiss=n, blas=n)
    return ThreadPlan("build", torch=n or cores(), faiss=1, blas=1)


def configure(workload: Workload, n: int = 0) -> ThreadPlan:
    """Apply the plan for ``workload`` to torch, FAISS and BLAS (those loaded)."""
    global _blas_limit
    chosen = plan(workload, n)
    try:
        import torch

        if torch.get_num_threads() != chosen.torch:
            torch.set_num_threads(chosen.torch)
    except ImportError:
        pass
    try:
        import faiss

        faiss.omp_set_num_threads(chosen.faiss)
    except ImportError:  # pragma: no cover - faiss is a dependency
        pass
    try:
        from threadpoolctl import threadpool_limits

        _blas_limit = threadpool_limits(limits=chosen.blas, user_api="blas")
    except ImportError:
        log.debug("threadpoolctl not installed: BLAS threads left as they are")
    log.debug("threads for %s: %s", workload, chosen)
    return chosen
