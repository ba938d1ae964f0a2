"""Weight mapping and conversion: an E5S1 file -> a ``transformers.BertModel``, an
XLM-R style Unigram fast tokenizer (vocabulary, scores and normalization all from
the file, nothing downloaded) and a sentence-transformers folder (mean pooling,
normalization, the e5 prompts recorded in its config)."""

from __future__ import annotations

import importlib
import json
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kb.errors import ConversionError
from kb.models.e5_file import E5File
from kb.models.prompts import E5_PROMPTS as PROMPTS

log = logging.getLogger(__name__)


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

    from kb.models.charsmap import compile_charsmap

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


def write_st_dir(f: E5File, out: Path) -> None:
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
