"""What the query path needs besides vectors and BM25, built at index time and
saved under ``derived/`` in the build directory, so that opening an index and
answering the first question costs about what any later question does.

* ``chunk_doc.npy``, ``doc_order.npy``, ``doc_start.npy``: chunk -> article
  row, and each article's chunk rows (``doc_order[doc_start[d]:doc_start[d+1]]``);
* ``sentence_start.npy``: chunk -> its sentence rows (``sentence_start[c]`` to
  ``sentence_start[c + 1]``; sentence rows follow chunk order);
* ``entity/``: the article-level BM25 over names and numbers (qa/retrieve.py's
  ``entity`` signal) as sparse columns, and ``vocab/``, its transpose, whose
  column ``d`` lists the entity terms article ``d`` mentions;
* ``lang_*.npy``: each chunk's language code and the mean chunk and sentence
  vector of each language, so per-language centering and the language offsets
  of sentence cosines are one small matrix product per query
  (mean of ``q . v`` over a group is ``q . mean(v)``);
* ``derived.json``: article ids, language names and counts.

Large arrays are opened memory-mapped.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.index.lexical import BM25Index, BM25Params
from kb.index.sparse import CSCColumns, load_array
from kb.index.tokenize import Tokenizer
from kb.ingest.document import Chunk

DIR = "derived"
VERSION = 1
ENTITY_BM25 = BM25Params(k1=1.2, b=0.75)  # article-level: a name's repeats count longer
TITLE_REPEAT = 3
_ENTITY_TOKEN = re.compile(r"^[a-z0-9][a-z0-9._]*$")


def entity_tokens(tokens: Sequence[str]) -> list[str]:
    """Latin words, numbers and their joined bigrams: model and benchmark names,
    versions and figures, which read the same in every language's articles."""
    return [t for t in tokens if _ENTITY_TOKEN.match(t)]


def entity_tokenizer(tokenizer: Tokenizer) -> Tokenizer:
    """The tokenizer without Korean morphemes: entity tokens are Latin words and
    numbers, which the morpheme analyzer (its tokens carry a ``k:`` prefix)
    never adds, so the index needs no analyzer pass."""
    return Tokenizer(dataclasses.replace(tokenizer.config, korean_morphemes=""))


def _group_means(vectors: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    dim = vectors.shape[1] if vectors.ndim == 2 else 0
    sums = np.zeros((n_groups, dim), dtype=np.float64)
    if len(vectors):
        np.add.at(sums, groups, vectors.astype(np.float64))
    counts = np.bincount(groups, minlength=n_groups).astype(np.float64)
    return (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)


def build_derived(
    directory: Path,
    chunks: Sequence[Chunk],
    tokenizer: Tokenizer,
    chunk_vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    sentence_chunk: np.ndarray,
) -> dict[str, object]:
    """Write ``directory/derived``; returns the manifest record of what it holds."""
    out = directory / DIR
    out.mkdir(parents=True, exist_ok=True)
    n = len(chunks)
    doc_ids: list[str] = []
    doc_row: dict[str, int] = {}
    chunk_doc = np.zeros(n, dtype=np.int32)
    tokens: list[list[str]] = []
    tok = entity_tokenizer(tokenizer)
    for i, c in enumerate(chunks):
        row = doc_row.get(c.doc_id)
        if row is None:
            row = doc_row[c.doc_id] = len(doc_ids)
            doc_ids.append(c.doc_id)
            tokens.append(entity_tokens(tok(c.title)) * TITLE_REPEAT)
        chunk_doc[i] = row
        tokens[row].extend(entity_tokens(tok(c.text)))
    entity = BM25Index.build(tokens, ENTITY_BM25)
    entity.save(out / "entity")
    rows, cols = [], []
    for d, toks in enumerate(tokens):
        for j in sorted({entity.vocab[t] for t in toks}):
            rows.append(j)
            cols.append(d)
    vocab = CSCColumns.from_triplets(
        np.asarray(rows, dtype=np.int64),
        np.asarray(cols, dtype=np.int64),
        np.ones(len(rows), dtype=np.float32),
        (len(entity.vocab), len(doc_ids)),
    )
    vocab.save(out / "vocab")

    order = np.argsort(chunk_doc, kind="stable").astype(np.int32)
    doc_start = np.zeros(len(doc_ids) + 1, dtype=np.int64)
    doc_start[1:] = np.cumsum(np.bincount(chunk_doc, minlength=len(doc_ids)))
    sent_rows = np.asarray(sentence_chunk, dtype=np.int64)
    if len(sent_rows) and np.any(np.diff(sent_rows) < 0):
        raise ValueError("sentence rows must follow chunk order")
    n_sent = np.bincount(sent_rows, minlength=n)
    sentence_start = np.zeros(n + 1, dtype=np.int64)
    sentence_start[1:] = np.cumsum(n_sent)

    langs = sorted({c.lang for c in chunks})
    code = {g: i for i, g in enumerate(langs)}
    chunk_lang = np.asarray([code[c.lang] for c in chunks], dtype=np.int16)
    sent_lang = chunk_lang[sent_rows] if len(sent_rows) else np.zeros(0, np.int16)
    arrays: dict[str, np.ndarray] = {
        "chunk_doc": chunk_doc,
        "doc_order": order,
        "doc_start": doc_start,
        "sentence_start": sentence_start,
        "lang_chunk": chunk_lang,
        "lang_chunk_mean": _group_means(chunk_vectors, chunk_lang, len(langs)),
        "lang_sentence_mean": _group_means(sentence_vectors, sent_lang, len(langs)),
        "lang_sentence_count": np.bincount(sent_lang, minlength=len(langs)).astype(np.int64),
        "lang_chunk_count": np.bincount(chunk_lang, minlength=len(langs)).astype(np.int64),
    }
    for name, arr in arrays.items():
        np.save(out / f"{name}.npy", arr, allow_pickle=False)
    meta = {
        "version": VERSION,
        "docs": doc_ids,
        "langs": langs,
        "entity_shape": list(entity.matrix.shape),
    }
    (out / "derived.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return {
        "version": VERSION,
        "articles": len(doc_ids),
        "entity_terms": len(entity.vocab),
        "files": sorted([*(f"{k}.npy" for k in arrays), "entity/", "vocab/", "derived.json"]),
    }


@dataclass(frozen=True)
class Derived:
    doc_ids: list[str]
    langs: list[str]
    chunk_doc: np.ndarray
    doc_order: np.ndarray
    doc_start: np.ndarray
    sentence_start: np.ndarray
    lang_chunk: np.ndarray
    lang_chunk_mean: np.ndarray  # [n_langs, dim]
    lang_sentence_mean: np.ndarray  # [n_langs, dim]
    lang_chunk_count: np.ndarray
    lang_sentence_count: np.ndarray
    entity: BM25Index
    vocab: CSCColumns  # [entity terms, articles]

    @classmethod
    def load(cls, build: Path, mmap: bool = True) -> Derived:
        d = build / DIR
        meta = json.loads((d / "derived.json").read_text(encoding="utf-8"))
        if meta.get("version") != VERSION:
            raise ValueError(f"derived data version {meta.get('version')} is not {VERSION}")
        entity = BM25Index.load(d / "entity", mmap=mmap)
        vocab = CSCColumns.load(d / "vocab", (len(entity.vocab), len(meta["docs"])), mmap=mmap)

        def arr(name: str) -> np.ndarray:
            return load_array(d / f"{name}.npy", mmap)

        return cls(
            doc_ids=list(meta["docs"]),
            langs=list(meta["langs"]),
            chunk_doc=arr("chunk_doc"),
            doc_order=arr("doc_order"),
            doc_start=arr("doc_start"),
            sentence_start=arr("sentence_start"),
            lang_chunk=arr("lang_chunk"),
            lang_chunk_mean=np.load(d / "lang_chunk_mean.npy"),
            lang_sentence_mean=np.load(d / "lang_sentence_mean.npy"),
            lang_chunk_count=np.load(d / "lang_chunk_count.npy"),
            lang_sentence_count=np.load(d / "lang_sentence_count.npy"),
            entity=entity,
            vocab=vocab,
        )

    def doc_row(self, doc_id: str) -> int | None:
        return self._rows().get(doc_id)

    def _rows(self) -> dict[str, int]:
        rows = self.__dict__.get("_doc_rows")
        if rows is None:
            rows = {d: i for i, d in enumerate(self.doc_ids)}
            object.__setattr__(self, "_doc_rows", rows)
        return rows

    def doc_chunks(self, row: int) -> np.ndarray:
        return np.asarray(self.doc_order[int(self.doc_start[row]) : int(self.doc_start[row + 1])])

    def doc_terms(self, row: int) -> frozenset[str]:
        terms = self._terms()
        return frozenset(terms[j] for j in self.vocab.column_rows(row))

    def _terms(self) -> list[str]:
        terms = self.__dict__.get("_term_list")
        if terms is None:
            terms = [""] * len(self.entity.vocab)
            for t, j in self.entity.vocab.items():
                terms[j] = t
            object.__setattr__(self, "_term_list", terms)
        return terms
