"""What a text is about, for choosing evidence: the names an article must
mention to answer a question (and whether it does), the benchmark a text names,
the model the text around a sentence is about, and topic bigrams (a text without
its model names and numbers)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from kb.index.tokenize import Tokenizer
from kb.ingest.document import Block, Sentence
from kb.qa.hits import Hit, Retrieval
from kb.qa.lexicon import Lexicon
from kb.qa.mentions import ModelName, find_mentions, without_names
from kb.qa.question import Question
from kb.settings import answer_depth

_SQUASH = re.compile(r"[\s\-_]+")
# a sentence's end (a lead-in's colon counts): a line without one is a heading or caption
SENTENCE_END = re.compile(r"[.。!?！？:：다요]\s*['\"”’)\]]*\s*$")


def squash(text: str) -> str:
    return _SQUASH.sub("", text.lower())


def names_benchmark(text: str, benchmarks: tuple[str, ...]) -> bool:
    """``text`` names one of the benchmarks (spacing and hyphens ignored; "MMLU"
    is not found inside "MMMLU")."""
    low = text.lower()
    for b in benchmarks:
        parts = [p for p in re.split(r"[\s\-_]+", b.split()[0].lower()) if p]
        body = r"[\s\-_]*".join(re.escape(p) for p in parts)
        if body and re.search(rf"(?<![a-z0-9]){body}(?![a-z0-9])", low):
            return True
    return False


def clause_at(text: str, start: int, end: int) -> str:
    left = max((m.end() for m in re.finditer(r"[,，;；]", text[:start])), default=0)
    rest = text[end:]
    right = min((m.start() for m in re.finditer(r"[,，;；]", rest)), default=len(rest))
    return text[left : end + right]


def context_subject(
    hit: Hit, block: Block | None, doc_subject: ModelName | None, lexicon: Lexicon
) -> ModelName | None:
    """The model the text around a sentence is about: its list's lead-in, its
    section heading, else the article's subject."""
    texts = []
    if block is not None and block.lead is not None:
        texts.append(block.lead.text)
    texts.append(hit.chunk.section)
    for text in texts:
        found = [m.name for m in find_mentions(text, lexicon) if m.name.version]
        if doc_subject is not None and any(n.compatible(doc_subject) for n in found):
            return doc_subject  # the article's own model, wherever the heading names it
        if found:
            return found[0].resolve(doc_subject)
    return doc_subject


def fits(name: ModelName | None, asked: tuple[ModelName, ...]) -> bool:
    return name is not None and any(name.answers_for(a) for a in asked)


# a model name written joined ("haiku4.5", "gpt4o"): its family and version apart
_JOINED_NAME = re.compile(r"(?<![A-Za-z])([A-Za-z]{2,})-?(\d{1,2}(?:\.\d{1,2})?[a-z]?)(?![\w.])")


def _name_tokens(text: str, tokenizer: Tokenizer) -> frozenset[str]:
    """The index tokenizer's tokens of a name, a joined one spaced first ("haiku4.5"
    has the tokens of "haiku 4.5": haiku, 4.5, haiku_4.5)."""
    spaced = _JOINED_NAME.sub(r"\1 \2", text)
    return frozenset(t for t in tokenizer(spaced) if not t.startswith("k:"))


def question_names(
    q: Question, tokenizer: Tokenizer, lexicon: Lexicon
) -> tuple[frozenset[str], list[frozenset[str]]]:
    """Name tokens an article must mention to answer the question: acronyms it uses
    ("MMLU", "AISI"), and the tokens of each model it names (with their versions,
    "opus_4"), of which an article needs every one for a question about one model,
    and at least one for a question comparing several (each may be in its own
    article). Ordinary capitalized words ("Table", "Japanese") and amounts ("10M")
    are no names; nor are the benchmarks of a question that names several."""
    acronyms = re.findall(r"(?<![A-Za-z0-9])[A-Z]{3,}(?![A-Za-z0-9])", q.text)
    if len(q.benchmarks) >= 2:  # "its GPQA and MATH scores": each sentence states one
        acronyms = [a for a in acronyms if not any(a.lower() in b for b in q.benchmarks)]
    required = frozenset().union(*(_name_tokens(a, tokenizer) for a in acronyms))
    models = [
        _name_tokens(q.text[m.start : m.end], tokenizer) for m in find_mentions(q.text, lexicon)
    ]
    return required, [m for m in models if m]


_CAPITALIZED = re.compile(r"(?<![\w\-])[A-Z][a-z]{3,}(?:[\s\-]+[A-Z][A-Za-z]*)*(?![\w\-])")


def corpus_names(
    q: Question, vocabularies: Iterable[frozenset[str]], lexicon: Lexicon
) -> list[frozenset[str]]:
    """Capitalized names the question uses ("Vertex AI", "Replit", "Google Cloud"),
    not its first word and not part of a model name, as groups of name tokens of
    which an article must mention at least one to answer ("is Claude 3.5 Sonnet on
    Vertex AI?" is no question its report answers; "구글 클라우드" answers for
    "Google Cloud" by "google" alone). Only names some article at hand uses count
    ("Kubernetes" is left to retrieval), except in a yes/no question: "is it on
    Microsoft Azure?" is answered only by an article that names one of them."""
    known = frozenset().union(*vocabularies)
    spans = [(m.start, m.end) for m in find_mentions(q.text, lexicon)]
    out: list[frozenset[str]] = []
    for m in _CAPITALIZED.finditer(q.text):
        if m.start() == 0 or any(a <= m.start() < b for a, b in spans):
            continue
        if q.figure is not None and any(cue.search(m.group(0)) for cue in q.figure.cues):
            continue  # "AI Safety Level 2": the asked property in title case, no name
        if len(q.benchmarks) >= 2 and any(m.group(0).lower() in b for b in q.benchmarks):
            continue  # "SWE-bench Verified and OSWorld": each sentence states one
        words = frozenset(
            w.lower()
            for w in re.split(r"[\s\-]+", m.group(0))
            if len(w) > 3 or (w.isupper() and len(w) > 2)
        )
        if words and (words & known or q.qtype == "yesno"):
            out.append(words)
    return out


def passages_read(
    retrieval: Retrieval,
    n: int,
    required: frozenset[str],
    models: list[frozenset[str]],
    groups: list[frozenset[str]],
) -> list[Hit]:
    """The passages a question's candidates come from: the top ``n`` whose article
    names what the question names, and, for models compared, the best of the next
    ``n`` from the article of a model the top ones miss (two articles compared)."""

    def vocab(h: Hit) -> frozenset[str]:
        return retrieval.doc_names.get(h.chunk.doc_id, frozenset())

    def usable(h: Hit) -> bool:
        return covers(vocab(h), required, models) and mentions_one_of(vocab(h), groups)

    hits = [h for h in retrieval.hits[:n] if usable(h)]
    if len(models) >= 2:
        for model in models:
            if not any(covers(vocab(h), required, [model]) for h in hits):
                lower = retrieval.hits[n : answer_depth(n)]
                hits += [h for h in lower if usable(h) and covers(vocab(h), required, [model])][:1]
    return hits


def states_nothing(hit: Hit, sentence: Sentence, lexicon: Lexicon) -> bool:
    """Headings, table headers and captions, and reference lists state nothing."""
    if sentence.role == "header":
        return True
    if sentence.text.strip() == hit.chunk.section.strip() and sentence.role != "lead":
        return True  # a heading (one that leads a list stays: "③ 적용 분야")
    block = hit.chunk.blocks[sentence.block] if sentence.block >= 0 else None
    if sentence.role == "lead" and block is not None and block.kind == "table":
        return True  # a table's caption ("표 2 … 성능 비교")
    section = hit.chunk.section.strip().lower()
    if any(section == s or section.endswith(s) for s in lexicon.skip_sections):
        return True
    text = sentence.text
    if sentence.role in ("item", "row", "lead") or SENTENCE_END.search(text) or len(text) > 40:
        return False
    # a heading inside the passage (digits of model names do not make it a fact)
    pos, rest = 0, []
    for m in find_mentions(text, lexicon):
        rest.append(text[pos : m.start])
        pos = m.end
    rest.append(text[pos:])
    return not any(ch.isdigit() for ch in "".join(rest))


_EMPTY_CELL = re.compile(r"^(?:|-|—|–|n/?a|없음|无|无数据)$", re.IGNORECASE)


def blank_for(
    sentence: Sentence, block: Block | None, models: Iterable[ModelName], lex: Lexicon
) -> bool:
    """A table row whose cells under the asked models' columns are all empty or "-"
    (the MMMU row "시각적 Q&A (MMMU)  -  59.4%  비교 불가" for Claude 3.5 Haiku): it
    states nothing for them, whatever the other cells say."""
    if block is None or block.kind != "table" or sentence.role != "row":
        return False
    cells = block.cells(sentence)
    asked = list(models)
    blanks = []
    for i, column in enumerate(block.columns):
        named = [m.name for m in find_mentions(column, lex)]
        if i < len(cells) and any(n.answers_for(m) for n in named for m in asked):
            blanks.append(bool(_EMPTY_CELL.match(cells[i].strip())))
    return bool(blanks) and all(blanks)


def at_place(retrieval: Retrieval, hits: list[Hit], place: str, n: int) -> list[Hit]:
    """For a question pointing at a part of an article ("the introduction lists",
    "결론에서", "文章结尾"): the passages of that part ("start" or "end", see
    ``Retrieval.doc_places``) of the articles ``hits`` come from, those retrieval
    found within its answer depth; ``hits`` unchanged when it found none."""
    if not place or not hits:
        return hits
    wanted: set[str] = set()
    for h in hits:
        wanted |= retrieval.doc_places.get(h.chunk.doc_id, {}).get(place, frozenset())
    there = [h for h in retrieval.hits[: answer_depth(n)] if h.chunk.chunk_id in wanted]
    return there or hits


def mentions_one_of(vocab: frozenset[str], groups: list[frozenset[str]]) -> bool:
    return all(group & vocab for group in groups)


def _has(vocab: frozenset[str], token: str) -> bool:
    """``token`` is in ``vocab``; a joined name token in either order ("haiku_3.5"
    is "3.5_haiku": "하이쿠 3.5" names the article's "Claude 3.5 하이쿠")."""
    if token in vocab:
        return True
    parts = token.split("_")
    return len(parts) == 2 and f"{parts[1]}_{parts[0]}" in vocab


def covers(vocab: frozenset[str], required: frozenset[str], models: list[frozenset[str]]) -> bool:
    if not all(_has(vocab, t) for t in required):
        return False
    fits = [all(_has(vocab, t) for t in m) for m in models]
    if len(models) <= 1:
        return all(fits)
    return any(fits)


def _bigrams(text: str) -> set[str]:
    t = re.sub(r"[\s\d.%]+", "", text.lower())
    return {t[i : i + 2] for i in range(len(t) - 1)}


_LATIN_WORD = re.compile(r"[a-z]{3,}")
_NOT_LATIN = re.compile(r"[^\x00-\x7f]+")


def topic_terms(text: str, lexicon: Lexicon) -> set[str]:
    """What ``text`` is about as terms: its CJK and Hangul character bigrams and its
    Latin words (not bigrams across them: "programming" shares "mm" with "MMMLU" but
    is no word of it), without model names and numbers."""
    rest = without_names(text, lexicon).lower()
    words = set(_LATIN_WORD.findall(rest))
    return words | {b for b in _bigrams(rest) if _NOT_LATIN.fullmatch(b)}


def topic_bigrams(text: str, lexicon: Lexicon) -> set[str]:
    """Character bigrams of ``text`` without its model names and numbers: what a
    sentence or question is about, beyond which model and which figure."""
    return _bigrams(without_names(text, lexicon))
