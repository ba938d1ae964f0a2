"""The converted e5 model at run time: the torch encoder (the engine's windows
for long texts), the CPU variant (fp32, int8, bf16) and loading."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kb.errors import ConversionError
from kb.models.e5_marker import ConversionInfo
from kb.models.hf_quiet import quiet_transformers

log = logging.getLogger(__name__)


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
