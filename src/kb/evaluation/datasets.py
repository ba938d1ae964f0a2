"""Evaluation sets: the project's gold JSONL, SQuAD-style JSON and BEIR folders.

Every loader returns an ``EvalSet``: the questions, and either the documents to
index (public benchmarks) or ``None`` (the gold set, which is asked against the
app's own corpus). Relevance is decided per retrieved chunk by
``EvalSet.relevant_ids(chunk)``:

* gold: a chunk is relevant when its text contains any of the question's
  evidence strings (all such chunks collapse into one relevant item,
  ``EVIDENCE``); ``doc_ids`` give a secondary, document-level relevance.
* SQuAD: one Document per paragraph; the chunk's paragraph is the item.
* BEIR: one Document per corpus entry; qrels grade the items.
"""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from kb.errors import DatasetError, IngestError
from kb.evaluation.evidence_text import contains_evidence, names_document
from kb.evaluation.files import (
    answer_keys_of,
    as_list,
    find_qrels,
    flag,
    read_jsonl,
    read_qrels,
    text_document,
)
from kb.ingest.document import Chunk, Document
from kb.ingest.lang import detect_language

EVIDENCE = "EVIDENCE"
FORMATS = ("auto", "gold", "squad", "beir")


@dataclass(frozen=True)
class EvalQuery:
    qid: str
    text: str
    lang: str
    # item id -> relevance grade; empty for an unanswerable question
    qrels: dict[str, int]
    answerable: bool = True
    doc_ids: tuple[str, ...] = ()  # gold: documents holding the answer
    evidence: tuple[str, ...] = ()  # gold: a chunk containing any of these is relevant
    answer: str = ""
    # gold: strings a correct answer contains (any of; a tuple entry: all of its parts)
    answer_keys: tuple[str | tuple[str, ...], ...] = ()
    qtype: str = ""  # gold: figure, which, list, comparison, arithmetic, yesno, open
    trap: bool = False  # gold: unanswerable, but a sibling model's figure is in the corpus


@dataclass
class EvalSet:
    name: str
    format: str  # "gold" | "squad" | "beir"
    queries: list[EvalQuery]
    documents: list[Document] | None = None  # None: index the app's corpus
    # document id (as indexed) -> item id used in qrels (SQuAD/BEIR)
    item_of_doc: dict[str, str] = field(default_factory=dict)
    skipped_documents: int = 0

    def item_of(self, chunk: Chunk, query: EvalQuery) -> str:
        """The qrels item a retrieved chunk stands for (for this query); a
        non-relevant gold chunk stands for itself, so it still takes a rank."""
        if self.format == "gold":
            return EVIDENCE if gold_relevant(chunk, query) else chunk.chunk_id
        return self.item_of_doc.get(chunk.doc_id, chunk.doc_id)

    def is_relevant(self, chunk: Chunk, query: EvalQuery) -> bool:
        return query.qrels.get(self.item_of(chunk, query), 0) > 0

    def first_documents(self, n: int | None) -> EvalSet:
        """Only the first ``n`` documents and the questions answered within them
        (a smaller, easier corpus for a quick run; benchmarks only)."""
        if n is None or self.documents is None or n >= len(self.documents):
            return self
        docs = self.documents[:n]
        items = {self.item_of_doc[d.doc_id] for d in docs if d.doc_id in self.item_of_doc}
        queries = [
            dataclasses.replace(q, qrels={i: g for i, g in q.qrels.items() if i in items})
            for q in self.queries
            if any(i in items for i in q.qrels)
        ]
        return dataclasses.replace(self, documents=docs, queries=queries)

    def limited(self, limit: int | None, seed: int | None = None) -> EvalSet:
        """The first ``limit`` questions, or a sample drawn with ``seed``."""
        if limit is None or limit >= len(self.queries):
            return self
        if seed is None:
            chosen = self.queries[:limit]
        else:
            rows = sorted(random.Random(seed).sample(range(len(self.queries)), limit))
            chosen = [self.queries[i] for i in rows]
        return dataclasses.replace(self, queries=chosen)


def gold_relevant(chunk: Chunk, query: EvalQuery) -> bool:
    """Gold relevance: the chunk holds an evidence string; an evidence entry that
    names a document (id or file name) makes all of that document relevant; with
    no evidence strings, any chunk of the listed ``doc_ids`` is."""
    if query.evidence:
        if any(names_document(chunk, e) for e in query.evidence):
            return True
        return contains_evidence(chunk, query.evidence)
    return any(names_document(chunk, d) for d in query.doc_ids)


# ---------------------------------------------------------------- detection


def detect_format(path: Path) -> str:
    if path.is_dir():
        if (path / "corpus.jsonl").is_file() and (path / "queries.jsonl").is_file():
            return "beir"
        raise DatasetError(f"{path}: a folder must hold corpus.jsonl, queries.jsonl and qrels/")
    if path.suffix.lower() == ".jsonl":
        return "gold"
    if path.suffix.lower() == ".json":
        return "squad"
    raise DatasetError(f"{path}: cannot tell the format; pass --format gold|squad|beir")


def load_eval_set(
    path: Path, fmt: str = "auto", split: str = "test", titles: bool = True
) -> EvalSet:
    if not path.exists():
        raise DatasetError(f"evaluation set not found: {path}")
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt == "gold":
        return load_gold(path)
    if fmt == "squad":
        return load_squad(path, titles=titles)
    if fmt == "beir":
        return load_beir(path, split=split)
    raise DatasetError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


# ---------------------------------------------------------------- gold


def load_gold(path: Path) -> EvalSet:
    queries: list[EvalQuery] = []
    seen: set[str] = set()
    for n, row in read_jsonl(path):
        question = row.get("question", row.get("query"))
        if not isinstance(question, str) or not question.strip():
            raise DatasetError(f"{path}:{n}: missing field 'question'")
        qid = str(row.get("id") or f"{path.stem}-{n}")
        if qid in seen:
            raise DatasetError(f"{path}:{n}: duplicate id {qid!r}")
        seen.add(qid)
        answerable = flag(row.get("answerable", True))
        evidence = tuple(str(e) for e in as_list(row.get("evidence")) if str(e).strip())
        doc_ids = tuple(
            str(d) for key in ("doc_ids", "doc_id") for d in as_list(row.get(key)) if str(d)
        )
        if answerable and not evidence and not doc_ids:
            raise DatasetError(
                f"{path}:{n}: answerable question {qid!r} has no evidence and no doc_ids"
            )
        queries.append(
            EvalQuery(
                qid=qid,
                text=question,
                lang=str(row.get("lang") or row.get("language") or detect_language(question)),
                qrels={EVIDENCE: 1} if answerable else {},
                answerable=answerable,
                doc_ids=doc_ids,
                evidence=evidence,
                answer=str(row.get("answer") or ""),
                answer_keys=answer_keys_of(row.get("answer_keys"), path, n),
                qtype=str(row.get("type") or ""),
                trap=flag(row.get("trap", False)),
            )
        )
    if not queries:
        raise DatasetError(f"{path}: no questions")
    return EvalSet(name=path.stem, format="gold", queries=queries)


# ---------------------------------------------------------------- SQuAD


def load_squad(path: Path, titles: bool = True) -> EvalSet:
    """SQuAD v1/v2-style JSON (KorQuAD, CMRC 2018): every paragraph is a document.

    ``titles`` keeps the Wikipedia article title on each paragraph, as every
    chunk of the app's own articles carries its article title (and as DPR-style
    retrievers index Wikipedia passages); without it a paragraph that says "he"
    or "the band" never names its subject. ``titles=False`` gives the harder,
    title-less variant (a different scratch index).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{path}: not a SQuAD-style JSON file ({exc})") from None
    documents: list[Document] = []
    item_of_doc: dict[str, str] = {}
    queries: list[EvalQuery] = []
    skipped = 0
    p = 0
    for article in data:
        title = str(article.get("title") or "") if titles else ""
        for para in article.get("paragraphs", []):
            context = str(para.get("context", ""))
            pid = f"p{p:05d}"
            p += 1
            try:
                doc = text_document(context, f"{pid}.txt", title)
            except IngestError:
                skipped += 1
                continue
            documents.append(doc)
            item_of_doc[doc.doc_id] = pid
            for qa in para.get("qas", []):
                if qa.get("is_impossible"):
                    continue  # SQuAD 2.0 unanswerable: no gold paragraph
                question = str(qa.get("question", "")).strip()
                if not question:
                    continue
                queries.append(
                    EvalQuery(
                        qid=str(qa.get("id", f"{pid}-{len(queries)}")),
                        text=question,
                        lang=detect_language(question),
                        qrels={pid: 1},
                        answer=str((qa.get("answers") or [{}])[0].get("text", "")),
                    )
                )
    if not documents or not queries:
        raise DatasetError(f"{path}: no paragraphs with questions")
    return EvalSet(
        name=path.stem if titles else f"{path.stem}-notitles",
        format="squad",
        queries=queries,
        documents=documents,
        item_of_doc=item_of_doc,
        skipped_documents=skipped,
    )


# ---------------------------------------------------------------- BEIR / TREC


def load_beir(folder: Path, split: str = "test") -> EvalSet:
    qrels = read_qrels(find_qrels(folder, split))
    documents: list[Document] = []
    item_of_doc: dict[str, str] = {}
    skipped = 0
    for i, (n, row) in enumerate(read_jsonl(folder / "corpus.jsonl")):
        if "_id" not in row:
            raise DatasetError(f"{folder / 'corpus.jsonl'}:{n}: missing _id")
        cid = str(row["_id"])
        text = str(row.get("text") or "")
        title = str(row.get("title") or "")
        try:
            doc = text_document(text, f"d{i:07d}.txt", title)
        except IngestError:
            skipped += 1
            continue
        documents.append(doc)
        item_of_doc[doc.doc_id] = cid
    queries: list[EvalQuery] = []
    for _, row in read_jsonl(folder / "queries.jsonl"):
        qid = str(row.get("_id", ""))
        if qid not in qrels:
            continue  # only queries judged in this split
        text = str(row.get("text") or "")
        queries.append(EvalQuery(qid=qid, text=text, lang=detect_language(text), qrels=qrels[qid]))
    if not documents or not queries:
        raise DatasetError(f"{folder}: no judged queries or no documents")
    return EvalSet(
        name=folder.name,
        format="beir",
        queries=queries,
        documents=documents,
        item_of_doc=item_of_doc,
        skipped_documents=skipped,
    )
