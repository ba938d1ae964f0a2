"""The names of people, companies and platforms a sentence gives: capitalized Latin
runs ("Dario Amodei", "UK AISI") and the organizations the lexicon knows under
another script ("오픈AI", "구글" → OpenAI, Google), in the order the sentence gives
them; models, levels ("ASL-2"), titles ("CEO") and the question's own names are
none of them. And an article's byline for "who wrote it?"."""

from __future__ import annotations

import re

from kb.qa.evidence_match import fits
from kb.qa.extract.base import Extracted, Scored
from kb.qa.lexicon import Lexicon
from kb.qa.mentions import find_mentions
from kb.qa.question import Question

_PROPER = re.compile(r"[A-Z][A-Za-z0-9&.\-]*(?:\s+[A-Z][A-Za-z0-9&.\-]*)*")


def _runs(text: str, lexicon: Lexicon) -> list[tuple[int, str]]:
    """Capitalized runs, split where a title or acronym stands ("Anthropic CEO Dario
    Amodei" gives "Anthropic" and "Dario Amodei")."""
    out: list[tuple[int, str]] = []
    for found in _PROPER.finditer(text):
        start, words = found.start(), list[str]()
        for word in re.finditer(r"\S+", found.group(0)):
            if word.group(0).strip(" .").lower() in lexicon.not_names:
                if words:
                    out.append((start, " ".join(words)))
                words = []
                continue
            if not words:
                start = found.start() + word.start()
            words.append(word.group(0))
        if words:
            out.append((start, " ".join(words)))
    return out


def _display(target: str, lexicon: Lexicon) -> str:
    """An organization as shown: the lexicon's display form, else capitalized."""
    return lexicon.display.get(target) or target[:1].upper() + target[1:]


def _aliased(q: Question, lexicon: Lexicon) -> set[str]:
    """What the question's aliases stand for ("앤스로픽" → anthropic)."""
    low_q = q.text.lower()
    return {t for a, t in lexicon.aliases.items() if a in low_q}


def _organizations(text: str, lexicon: Lexicon) -> list[tuple[int, str]]:
    """Organizations written in Hangul or Han ("오픈AI의 GPT-4.5, 구글의 Gemini")."""
    low = text.lower()
    out: list[tuple[int, str]] = []
    for alias, target in lexicon.aliases.items():
        if target not in lexicon.organizations or alias.isascii():
            continue
        at = low.find(alias)
        if at >= 0:
            out.append((at, _display(target, lexicon)))
    return out


def organizations_in(text: str, q: Question, lexicon: Lexicon) -> list[str]:
    """The organizations the lexicon knows that ``text`` names and ``q`` does not."""
    low_q = q.text.lower()
    asked = _aliased(q, lexicon)
    low = text.lower()
    named = _organizations(text, lexicon)
    named += [(low.find(t), _display(t, lexicon)) for t in lexicon.organizations]
    return list(
        dict.fromkeys(
            name
            for at, name in sorted(named)
            if at >= 0 and name.lower() not in low_q and name.lower() not in asked
        )
    )


# how far after a title ("CEO") a name is that title's holder, a person
_TITLE_REACH = 16


def _after_title(text: str, at: int, lexicon: Lexicon) -> bool:
    before = text[max(0, at - _TITLE_REACH) : at].lower()
    return any(t in before for t in lexicon.titles)


def proper_names(
    text: str, q: Question, lexicon: Lexicon, people: bool = True, orgs: bool = True
) -> list[str]:
    """Names ``text`` gives that ``q`` does not; with ``people=False`` not those
    right after a title ("CEO인 다리오 아모데이(Dario Amodei)" for a company asked),
    with ``orgs=False`` not the organizations written in another script (a person
    asked)."""
    low_q = q.text.lower()
    q_words = set(re.findall(r"[a-z][a-z0-9&.\-]*", low_q))
    asked = _aliased(q, lexicon) | q_words
    models = {m.start for m in find_mentions(text, lexicon)}
    out: list[str] = []
    named = _runs(text, lexicon) + (_organizations(text, lexicon) if orgs else [])
    for at, found in sorted(named):
        word = found.strip(" .")
        # a name that has a word of the question is the asked one's ("Anthropic
        # Safety Level" for "who did Anthropic work with"), not another
        shared = any(len(w) > 3 and w.lower() in asked for w in word.split())
        fresh = word.lower() not in low_q and word not in out and not shared
        numbered = any(ch.isdigit() for ch in word)  # "ASL-2" is a level, no name
        person = not people and _after_title(text, at, lexicon)
        if all(w.lower() in lexicon.families | lexicon.variants for w in word.split()):
            continue  # "Sonnet이 예술 및 문학용": a model family, no one's name
        if len(word) > 2 and fresh and not numbered and at not in models and not person:
            out.append(word)
    return out


_EMAIL = re.compile(r"\s*\([^()]*@[^()]*\)")


def asks_author(q: Question, lexicon: Lexicon) -> bool:
    return any(p.search(q.text) for p in lexicon.bylines.get("asks", ()))


def byline(q: Question, scored: Scored, lexicon: Lexicon) -> Extracted | None:
    """ "Who wrote the report?" (``asks_author``): the best candidate that is a byline
    ("글쓴이 Claude 3(by Anthropic), 프롬프팅·편집 신동형(…)", lexicon ``bylines``),
    answered with what follows its mark (e-mail addresses left out), in an article
    about the model asked when one is; None when no candidate is one."""
    for _, c in scored:
        if q.models and not (fits(c.context, q.models) or fits(c.subject, q.models)):
            continue  # another article's byline
        for mark in lexicon.bylines.get("marks", ()):
            found = mark.match(c.sentence.text)
            if found is not None:
                who = _EMAIL.sub("", c.sentence.text[found.end() :]).strip(" ,.;")
                if who:
                    return Extracted(who, [c])
    return None
