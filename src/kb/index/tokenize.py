"""The one lexical tokenizer, used at indexing and at query time (its config is saved
in the manifest and checked on load).

* NFKC + lowercase.
* Model-name aliases: Korean and Chinese transliterations of Latin names
  (클로드 -> claude, 하이쿠 -> haiku, 소네트 -> sonnet, ...) become the Latin word,
  so "클로드 하이쿠 4.5" and "Claude Haiku 4.5" share tokens.
* Latin words and numbers (``4.5``, ``73.3``) are tokens; adjacent Latin/number
  tokens also give a joined bigram (``haiku_4.5``) so word order tells
  "Claude 3.5 Haiku" from "Claude Haiku 4.5".
* Runs of Hangul, Han or Kana give overlapping character bigrams (a lone
  character is a unigram): no dictionary needed, works for Korean particles and
  unsegmented Chinese alike.
* Text with Hangul also gives the content morphemes kiwipiepy finds (nouns,
  verb and adjective stems, numbers, foreign words), prefixed ``k:``: a stem
  matches whatever ending it takes (measured on KorQuAD in README "Retrieval
  quality": BM25 top-1 0.885 with bigrams alone, 0.909 with both).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from importlib import metadata, resources

from kb.models.korean import MORPHEME_TAGS, KoreanMorphemes
from kb.scripts import HAN, HANGUL, HANGUL_SYLLABLE_RE, KANA


def packaged_aliases() -> dict[str, str]:
    """The transliterations of model and company names in the packaged lexicon
    (``kb/data/lexicon.json`` "aliases": 클로드 -> claude, 谷歌 -> google). A build
    takes them from the lexicon merged with the corpus folder's (kb/qa/service.py);
    this default serves a tokenizer made without one."""
    text = resources.files("kb.data").joinpath("lexicon.json").read_text(encoding="utf-8")
    raw = json.loads(text).get("aliases", {})
    return {str(k): str(v).lower() for k, v in raw.items()}


_LATIN_OR_NUM = r"[a-z0-9]+(?:[.][0-9]+)*"
_CJK = f"[{HANGUL}]+|[{HAN}]+|[{KANA}]+"  # runs of one script each
_HANGUL = HANGUL_SYLLABLE_RE
_POSSESSIVE = re.compile(r"['’]s\b")
# English function words carry no evidence; dropped on both sides.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "about",
        "than",
        "into",
        "much",
        "many",
        "can",
        "could",
        "would",
        "should",
        "tell",
        "me",
        "please",
    ]
)
_TOKEN = re.compile(rf"(?P<w>{_LATIN_OR_NUM})|(?P<c>{_CJK})|(?P<sep>[^\s\w]|_)|(?P<ws>\s+)")


@dataclass(frozen=True)
class TokenizerConfig:
    aliases: dict[str, str] = field(default_factory=packaged_aliases)
    latin_bigrams: bool = True
    cjk_ngram: int = 2
    # "kiwipiepy": add Korean content morphemes; "": bigrams only
    korean_morphemes: str = "kiwipiepy"
    version: int = 2

    def to_dict(self) -> dict[str, object]:
        return {
            "name": "kb-cjk-bigram",
            "version": self.version,
            "latin_bigrams": self.latin_bigrams,
            "cjk_ngram": self.cjk_ngram,
            "korean_morphemes": self.korean_morphemes,
            "morpheme_tags": list(MORPHEME_TAGS) if self.korean_morphemes else [],
            # a new analyzer release may split words differently: part of the fingerprint
            "analyzer_version": _analyzer_version(self.korean_morphemes),
            "aliases": dict(sorted(self.aliases.items())),
        }

    def fingerprint(self) -> str:
        blob = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> TokenizerConfig:
        aliases = d.get("aliases")
        return cls(
            aliases=dict(aliases) if isinstance(aliases, dict) else packaged_aliases(),
            latin_bigrams=bool(d.get("latin_bigrams", True)),
            cjk_ngram=int(str(d.get("cjk_ngram", 2))),
            korean_morphemes=str(d.get("korean_morphemes", "")),
            version=int(str(d.get("version", 1))),
        )


def _analyzer_version(name: str) -> str:
    if not name:
        return ""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "missing"


class Tokenizer:
    """``analyzer``: the Korean morpheme analyzer to use (the caller's loaded one,
    models/korean.py); None: a tokenizer that needs one makes its own, loaded
    when it first meets Korean text."""

    def __init__(
        self, config: TokenizerConfig | None = None, analyzer: KoreanMorphemes | None = None
    ) -> None:
        self.config = config or TokenizerConfig()
        self._morphemes: KoreanMorphemes | None = None
        if self.config.korean_morphemes:
            self._morphemes = analyzer if analyzer is not None else KoreanMorphemes()
        keys = sorted(self.config.aliases, key=len, reverse=True)
        self._alias_re = re.compile("|".join(re.escape(k) for k in keys)) if keys else None

    def warm(self) -> None:
        """Load the morpheme analyzer now (about a second) rather than on the
        first Korean question."""
        if self._morphemes is not None:
            self._morphemes.warm()

    def normalize(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text).lower()
        text = _POSSESSIVE.sub("", text)
        if self._alias_re is not None:
            aliases = self.config.aliases
            # pad with spaces so an alias inside a Hangul run splits it
            text = self._alias_re.sub(lambda m: f" {aliases[m.group(0)]} ", text)
        return text

    def __call__(self, text: str) -> list[str]:
        tokens: list[str] = []
        prev_word: str | None = None
        n = self.config.cjk_ngram
        normalized = self.normalize(text)
        for m in _TOKEN.finditer(normalized):
            kind = m.lastgroup
            value = m.group(0)
            if kind == "w":
                if value in STOPWORDS:
                    prev_word = None
                    continue
                tokens.append(value)
                if self.config.latin_bigrams and prev_word is not None:
                    tokens.append(f"{prev_word}_{value}")
                prev_word = value
            elif kind == "c":
                prev_word = None
                if len(value) < n:
                    tokens.append(value)
                else:
                    tokens.extend(value[i : i + n] for i in range(len(value) - n + 1))
            elif kind == "sep" and value not in "-.":
                # "-" and "." inside names keep the phrase going (swe-bench, gpt-4o)
                prev_word = None
            # whitespace keeps Latin phrases together
        if self._morphemes is not None and _HANGUL.search(normalized):
            tokens.extend(self._morphemes.tokens(normalized))
        return tokens
