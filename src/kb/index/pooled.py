"""Chunk and sentence vectors from one forward pass per chunk.

The build embeds every chunk and then every sentence again on its own
(``fields.sentence_embed_text``), so each token goes through the model about
twice and most of the embedding time is the sentences'. Here the chunk text is
run once; its vector is the usual mean over all token states, and each
sentence's vector is the mean of the token states whose character offsets fall
inside that sentence (offset mapping from the fast tokenizer), L2-normalized.
A sentence that cannot be located in the chunk text, or lies past the model's
512 positions, is reported in ``missing`` for the caller to embed the old way.

Not wired into the build: it changes the sentence vectors, and
benchmarks/bench_pooled.py measures what it costs in retrieval quality.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class PooledText:
    """One text for the model and the character spans of its sentences in it."""

    text: str
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Pooled:
    chunk_vectors: np.ndarray  # [n_texts, dim]
    sentence_vectors: np.ndarray  # [n_spans in order, dim]; zero rows where missing
    missing: tuple[int, ...]  # flat sentence positions to embed separately


def locate(text: str, sentences: Sequence[str], start: int = 0) -> tuple[tuple[int, int], ...]:
    """Spans of ``sentences`` found in order in ``text`` ((-1, -1): not found)."""
    out: list[tuple[int, int]] = []
    cursor = start
    for s in sentences:
        at = text.find(s, cursor)
        if at < 0:
            at = text.find(s, start)
        if at < 0 or not s:
            out.append((-1, -1))
            continue
        out.append((at, at + len(s)))
        cursor = at + len(s)
    return tuple(out)


def _normalize(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return np.ascontiguousarray(x / n, dtype=np.float32)


def encode_pooled(
    hf_model: Any, tokenizer: Any, items: Sequence[PooledText], prefix: str, batch_size: int = 16
) -> Pooled:
    """Chunk vectors and sentence vectors pooled from the same forward pass.

    ``hf_model`` is the transformers encoder (``st_model[0].auto_model``) and
    ``tokenizer`` its fast tokenizer; ``prefix`` (e.g. ``passage: ``) is put
    before every text and shifts the spans.
    """
    import torch

    texts = [prefix + it.text for it in items]
    enc = tokenizer(
        texts,
        return_offsets_mapping=True,
        truncation=True,
        max_length=int(hf_model.config.max_position_embeddings),
        verbose=False,
    )
    dim = int(hf_model.config.hidden_size)
    n_spans = sum(len(it.spans) for it in items)
    chunk_out = np.zeros((len(items), dim), dtype=np.float32)
    sent_out = np.zeros((n_spans, dim), dtype=np.float32)
    first = np.cumsum([0, *[len(it.spans) for it in items]])
    missing: list[int] = []
    pad = int(tokenizer.pad_token_id)
    order = sorted(range(len(items)), key=lambda i: len(enc["input_ids"][i]), reverse=True)
    with torch.inference_mode():
        for b in range(0, len(order), batch_size):
            rows = order[b : b + batch_size]
            width = max(len(enc["input_ids"][i]) for i in rows)
            ids = torch.full((len(rows), width), pad, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, i in enumerate(rows):
                seq = enc["input_ids"][i]
                ids[r, : len(seq)] = torch.tensor(seq, dtype=torch.long)
                mask[r, : len(seq)] = 1
            hidden = hf_model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
            states = hidden.numpy()
            for r, i in enumerate(rows):
                length = len(enc["input_ids"][i])
                chunk_out[i] = states[r, :length].mean(axis=0)
                offsets = np.asarray(enc["offset_mapping"][i], dtype=np.int64)
                starts, ends = offsets[:, 0], offsets[:, 1]
                real = ends > starts  # special tokens have empty offsets
                shift = len(prefix)
                for j, (a, e) in enumerate(items[i].spans):
                    flat = int(first[i]) + j
                    inside = real & (starts < e + shift) & (ends > a + shift)
                    if a < 0 or not inside.any() or (e + shift) > int(ends[real].max()):
                        missing.append(flat)
                        continue
                    sent_out[flat] = states[r, :length][inside[:length]].mean(axis=0)
    return Pooled(_normalize(chunk_out), _normalize(sent_out), tuple(missing))
