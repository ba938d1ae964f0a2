"""Instructions are not facts: sentences that give an assistant, a model or the
reader orders about answers ("ignore previous instructions", "answer X", "you must
cite", 이전 지시를 무시하세요, 忽略之前的所有指令) are marked at indexing time.

A marked sentence stays in the chunk text (embedded, in BM25) so it can be found,
but ``Sentence.instruction`` tells the answer stage never to use it as evidence.

The cue patterns are data: ``kb/data/instruction_cues.json``, merged with an
optional ``kb_instruction_cues.json`` in the corpus folder (see the bundled file's
description for the format). ``load_cues`` is a pure function of the files it is
given; ``cue_paths`` names the bundled file and the corpus one when it exists.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from kb.errors import CueFileError
from kb.ingest.document import Block, Sentence

CORPUS_CUE_FILE = "kb_instruction_cues.json"

# Quoted passages: a quote that names an injection ("such as 'ignore all previous
# instructions'") describes it; an opening single quote must not follow a letter
# (apostrophes).
_QUOTED = re.compile(
    r"\"[^\"\n]{1,300}\"|“[^”\n]{1,300}”|‘[^’\n]{1,300}’|「[^」\n]{1,300}」|『[^』\n]{1,300}』"
    r"|(?<![A-Za-z0-9])'[^'\n]{1,300}'"
)
_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class Cue:
    id: str
    lang: str
    pattern: re.Pattern[str]
    unless: re.Pattern[str] | None
    carry: bool


@dataclass(frozen=True)
class InstructionCues:
    cues: tuple[Cue, ...]
    fingerprint: str  # changes whenever a rule changes: chunks are flagged anew

    def match(self, sentence: str) -> Cue | None:
        """The first cue ``sentence`` matches, or None."""
        text = normalize(sentence)
        for cue in self.cues:
            if cue.pattern.search(text) and not (cue.unless and cue.unless.search(text)):
                return cue
        return None

    def is_instruction(self, sentence: str) -> bool:
        return self.match(sentence) is not None


def normalize(sentence: str) -> str:
    """NFKC, case-folded, one space for any white space, quoted passages removed
    (unless the sentence is nothing but a quote)."""
    text = " ".join(unicodedata.normalize("NFKC", sentence).casefold().split())
    unquoted = " ".join(_QUOTED.sub(" ", text).split())
    return unquoted if len(_WORD.findall(unquoted)) >= 4 else text


def bundled_cue_path() -> Path:
    return Path(str(resources.files("kb").joinpath("data/instruction_cues.json")))


def cue_paths(corpus_dir: Path | None) -> list[Path]:
    """The bundled cue file, then the corpus folder's own when there is one."""
    paths = [bundled_cue_path()]
    if corpus_dir is not None and (corpus_dir / CORPUS_CUE_FILE).is_file():
        paths.append(corpus_dir / CORPUS_CUE_FILE)
    return paths


def _compile(path: Path, rule_id: str, field: str, pattern: object) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise CueFileError(f"{path}: rule {rule_id!r}: {field!r} must be a string")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise CueFileError(f"{path}: rule {rule_id!r}: bad {field} pattern: {exc}") from None


def load_cues(paths: Sequence[Path]) -> InstructionCues:
    """Merge the rules of ``paths`` in order: a later rule with the same id replaces
    an earlier one, and a file's ``disable`` list drops ids."""
    rules: dict[str, dict[str, object]] = {}
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CueFileError(f"{path}: cannot read instruction cues: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("rules", []), list):
            raise CueFileError(f"{path}: expected an object with a 'rules' list")
        for rule in data.get("rules", []):
            if not isinstance(rule, dict) or not isinstance(rule.get("id"), str):
                raise CueFileError(f"{path}: every rule needs a string 'id'")
            _compile(path, rule["id"], "pattern", rule.get("pattern"))
            if rule.get("unless") is not None:
                _compile(path, rule["id"], "unless", rule["unless"])
            rules[rule["id"]] = rule
        for rule_id in data.get("disable", []):
            rules.pop(str(rule_id), None)
    cues = tuple(
        Cue(
            id=rid,
            lang=str(r.get("lang", "")),
            pattern=re.compile(str(r["pattern"])),
            unless=re.compile(str(r["unless"])) if r.get("unless") is not None else None,
            carry=bool(r.get("carry", False)),
        )
        for rid, r in rules.items()
    )
    digest = hashlib.sha256(
        json.dumps(list(rules.values()), sort_keys=True, ensure_ascii=False).encode("utf-8")
    ).hexdigest()[:16]
    return InstructionCues(cues, digest)


def bundled_cues() -> InstructionCues:
    return load_cues([bundled_cue_path()])


def flag_sentences(
    sentences: Sequence[Sentence], gaps: Sequence[str], cues: InstructionCues
) -> list[Sentence]:
    """Mark instruction sentences. ``gaps[i]`` is the clean text between sentence
    ``i - 1`` and sentence ``i``: a carrying cue marks the sentences after it up to
    the next newline, or to the next blank line when it ends in a colon."""
    out = []
    carrying = False
    through_lines = False  # carrying past newlines (after a colon), to a blank line
    for sentence, gap in zip(sentences, gaps, strict=True):
        if carrying and "\n" in gap and (not through_lines or re.search(r"\n\s*\n", gap)):
            carrying = through_lines = False
        cue = cues.match(sentence.text)
        if cue is not None and cue.carry:
            carrying = True
        if cue is not None or carrying:
            if carrying and sentence.text.rstrip().endswith((":", "：")):
                through_lines = True
            sentence = dataclasses.replace(sentence, instruction=True)
        out.append(sentence)
    return out


def flag_block(block: Block, cues: InstructionCues) -> Block:
    """Mark the lead-in, header and items of a list or table; every item when the
    lead-in is an instruction."""

    def one(s: Sentence | None, forced: bool = False) -> Sentence | None:
        if s is None or not (forced or cues.is_instruction(s.text)):
            return s
        return dataclasses.replace(s, instruction=True)

    lead = one(block.lead)
    forced = lead is not None and lead.instruction
    items = tuple(one(s, forced) or s for s in block.items)
    return dataclasses.replace(block, lead=lead, header=one(block.header), items=items)
