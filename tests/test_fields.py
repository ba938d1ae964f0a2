"""Vector fields as data (index/fields.py): the build embeds, caches and records
each field, loading opens what the manifest lists, and an index of an older
format is refused with the rebuild hint. Unit tier: fake embedders."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import FIXTURES, FakeEmbedder

from kb.errors import BadIndexError
from kb.index.build import build_index
from kb.index.chunk_vectors import DEFAULT, chunk_field
from kb.index.fields import BY_NAME, FIELDS, SECOND_SENTENCES, VectorField
from kb.index.layout import current_build
from kb.index.load import load_index
from kb.index.manifest import FORMAT_VERSION, REBUILD_HINT
from kb.ingest.chunk import ChunkerConfig
from kb.ingest.load import load_corpus
from kb.models.korean import KoreanMorphemes


def _build(  # type: ignore[no-untyped-def]
    index: Path,
    analyzer: KoreanMorphemes,
    second: FakeEmbedder | None = None,
    rebuild: bool = False,
):
    docs, _ = load_corpus(FIXTURES / "tiny")
    main = FakeEmbedder()
    return build_index(
        docs, index, main, ChunkerConfig(), second=second, rebuild=rebuild, analyzer=analyzer
    )


def test_every_field_is_built_recorded_and_loaded(
    analyzer: KoreanMorphemes, tmp_path: Path
) -> None:
    second = FakeEmbedder(dim=16, model_id="fake:second-16")
    report = _build(tmp_path / "idx", analyzer, second)
    index = load_index(tmp_path / "idx", analyzer=analyzer)
    records = index.manifest.field_records()
    assert [f["name"] for f in index.manifest.fields] == [f.name for f in FIELDS]
    n_sent = sum(len(c.sentences) for c in index.chunks)
    for f in FIELDS:
        rec = records[f.name]
        recipe = chunk_field(DEFAULT).recipe if f.name == "chunks" else f.recipe
        assert rec["file"] == f.file and rec["recipe"] == recipe and rec["rows"] == f.rows
        assert rec["count"] == index.vectors[f.name].ntotal
        assert rec["count"] == (len(index.chunks) if f.rows == "chunk" else n_sent)
        assert (current_build(tmp_path / "idx") / f.file).is_file()  # type: ignore[operator]
    assert records["second_sentences"]["embedder"]["id"] == "fake:second-16"
    assert index.vectors["second_sentences"].d == 16 and index.second_vectors is not None
    assert records["chunks"]["embedder"]["id"] == index.manifest.model["id"] == "fake:hash-32"
    keys = json.loads((index.path / "vector_keys.json").read_text("utf-8"))
    assert set(keys) == set(BY_NAME)
    # a field's vectors are its recipe's texts, embedded by its own encoder
    chunk = index.chunks[0]
    want = second.encode_passages([SECOND_SENTENCES.texts([chunk])[0]])[0]
    got = index.vectors["second_sentences"].reconstruct(0)
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert report.chunks_embedded > 0 and report.chunks_reused == 0
    # unchanged corpus: every field comes from the cache
    again = _build(tmp_path / "idx", analyzer, second)
    assert again.chunks_embedded == 0 and again.chunks_reused == report.chunks_embedded


def test_without_the_second_encoder_its_field_is_absent(
    analyzer: KoreanMorphemes, tmp_path: Path
) -> None:
    _build(tmp_path / "idx", analyzer, FakeEmbedder(dim=16, model_id="fake:second-16"))
    report = _build(tmp_path / "idx", analyzer)  # the second encoder turned off
    index = load_index(tmp_path / "idx", analyzer=analyzer)
    assert index.second_vectors is None and "second_sentences" not in index.vectors
    assert index.manifest.embedder_of("second_sentences") == {}
    assert report.chunks_embedded == 0  # the main fields still come from the cache


def test_fields_texts_follow_rows() -> None:
    docs, _ = load_corpus(FIXTURES / "tiny")
    from kb.ingest.chunk import chunk_document

    chunks = [c for d in docs for c in chunk_document(d, ChunkerConfig())]
    for f in FIELDS:
        assert isinstance(f, VectorField)
        n = len(chunks) if f.rows == "chunk" else sum(len(c.sentences) for c in chunks)
        assert len(f.texts(chunks)) == n


def _manifest(index: Path) -> tuple[Path, dict[str, Any]]:
    path = current_build(index) / "manifest.json"  # type: ignore[operator]
    return path, json.loads(path.read_text("utf-8"))


def _format_3(raw: dict[str, Any]) -> dict[str, Any]:
    """What a format-3 index looked like: no field list, the second encoder apart."""
    old = {k: v for k, v in raw.items() if k != "fields"}
    old.update(format_version=3, embed_recipe="{prompt}{title}", second_model={})
    return old


def _format_4(raw: dict[str, Any]) -> dict[str, Any]:
    """What a format-4 index looked like: no weights id in its model records."""
    model = {k: v for k, v in raw["model"].items() if k != "weights"}
    fields = [
        {**f, "embedder": {k: v for k, v in f["embedder"].items() if k != "weights"}}
        for f in raw["fields"]
    ]
    return {**raw, "format_version": 4, "model": model, "fields": fields}


@pytest.mark.parametrize("older", [_format_3, _format_4])
def test_an_older_format_is_refused_with_the_rebuild_hint(
    analyzer: KoreanMorphemes, tmp_path: Path, older: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    _build(tmp_path / "idx", analyzer)
    path, raw = _manifest(tmp_path / "idx")
    assert FORMAT_VERSION == 5 and raw["model"]["weights"]
    old = older(raw)
    path.write_text(json.dumps(old), encoding="utf-8")
    version = old["format_version"]
    with pytest.raises(BadIndexError, match=f"format version {version}, this kb reads 5") as err:
        load_index(tmp_path / "idx", analyzer=analyzer)
    assert REBUILD_HINT in str(err.value)
    # and a rebuild makes it readable again
    _build(tmp_path / "idx", analyzer, rebuild=True)
    assert load_index(tmp_path / "idx", analyzer=analyzer).manifest.format_version == FORMAT_VERSION


@pytest.mark.parametrize("damage", ["unknown field", "count differs", "field missing"])
def test_a_field_list_that_does_not_match_the_files_is_refused(
    analyzer: KoreanMorphemes, tmp_path: Path, damage: str
) -> None:
    _build(tmp_path / "idx", analyzer)
    path, raw = _manifest(tmp_path / "idx")
    fields = raw["fields"]
    assert isinstance(fields, list)
    if damage == "unknown field":
        fields.append({**fields[0], "name": "titles", "file": "titles.faiss"})
    elif damage == "count differs":
        fields[0]["count"] += 1
    else:
        raw["fields"] = [f for f in fields if f["name"] != "sentences"]
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(BadIndexError, match=REBUILD_HINT.replace("`", ".")):
        load_index(tmp_path / "idx", analyzer=analyzer)
