"""Which HTML elements a browser does not show: attributes, inline styles, and the
simple selectors of the page's own ``<style>`` sheets.

An element is hidden when it has the ``hidden`` attribute or ``aria-hidden="true"``,
a style that removes it from view (``display:none``, ``visibility:hidden``,
``opacity:0``, a font size of at most 1px, at most 1px wide or high with clipped
overflow (the screen-reader-only pattern), a clip to nothing,
far off-screen positioning, ``transform:scale(0)``, transparent text or text in the
colour of its own background), a class that hides by convention (``sr-only``,
``d-none``, …: ``data/hidden_classes.json``), or is matched by a rule of the page's
style sheets that hides it. Selectors are matched by their last compound (tag,
classes, id, attributes): ``.a .b`` hides every ``.b``. That errs on the side of
hiding; rules with pseudo-classes or pseudo-elements are ignored, and so are sheets
for print only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_OFFSCREEN = re.compile(r"^-\s*\d{3,}(?:\.\d+)?\s*(?:px|em|rem|pt|vw|vh|%)?$")
_LENGTH = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+))\s*(px|pt|em|rem|ex|ch|%|vw|vh)?$")
_COMPOUND = re.compile(r"^(?P<tag>[a-zA-Z][\w-]*|\*)?(?P<rest>(?:[.#][\w-]+|\[[^\]]+\])*)$")
_PART = re.compile(
    r"([.#])([\w-]+)|\[\s*([\w-]+)\s*(?:([~|^$*]?=)\s*(\"[^\"]*\"|'[^']*'|[^\]\s]+))?"
)


def hidden_classes() -> frozenset[str]:
    """Class names that hide an element by convention (bundled data file)."""
    data = resources.files("kb").joinpath("data/hidden_classes.json").read_text("utf-8")
    return frozenset(c.lower() for c in json.loads(data)["classes"])


def declarations(style: str) -> dict[str, str]:
    """``prop: value`` pairs of a style attribute or rule body, lower-cased,
    without comments or ``!important``."""
    out: dict[str, str] = {}
    for decl in _COMMENT.sub("", style).split(";"):
        prop, sep, value = decl.partition(":")
        if sep:
            value = re.sub(r"\s*!\s*important\s*$", "", value.strip().lower())
            out[prop.strip().lower()] = " ".join(value.split())
    return out


def _number(value: str) -> float | None:
    m = re.match(r"^([-+]?\d*\.?\d+)\s*(%?)", value)
    if not m:
        return None
    n = float(m.group(1))
    return n / 100 if m.group(2) else n


def _tiny(value: str) -> bool:
    """A length of at most 1px (0.1em): text that small cannot be read."""
    m = _LENGTH.match(value)
    if not m:
        return False
    n, unit = float(m.group(1)), m.group(2) or "px"
    if unit in ("px", "pt"):
        return n <= 1
    if unit in ("em", "rem", "ex", "ch"):
        return n <= 0.1
    return n <= 0


def style_hides(decls: dict[str, str]) -> bool:
    get = decls.get
    if get("display") == "none" or get("visibility") in ("hidden", "collapse"):
        return True
    opacity = _number(get("opacity", "1"))
    if opacity is not None and opacity <= 0.05:
        return True
    size = get("font-size")
    if size is not None and _tiny(size):
        return True
    clipped = get("overflow", "") in ("hidden", "clip") or get("overflow-x") == "hidden"
    for prop in ("width", "height", "max-width", "max-height"):
        if clipped and _tiny(get(prop, "auto")):
            return True
    clip = get("clip", "") + " " + get("clip-path", "")
    if re.search(
        r"rect\(\s*0[a-z]*[\s,]+0[a-z]*[\s,]+0[a-z]*[\s,]+0|inset\(\s*(?:50|100)%|circle\(\s*0",
        clip,
    ):
        return True
    for prop in ("left", "top", "right", "text-indent", "margin-left", "margin-top"):
        if _OFFSCREEN.match(get(prop, "")):
            return True
    if re.search(r"scale[xy]?\(\s*0(?:\.0*)?\s*[,)]", get("transform", "")):
        return True
    color = get("color")
    if color in ("transparent", "rgba(0,0,0,0)", "rgba(0, 0, 0, 0)"):
        return True
    background = get("background-color") or get("background")
    return color is not None and color == background


@dataclass(frozen=True)
class Selector:
    """The last compound of a CSS selector: tag, classes, id, attribute tests."""

    tag: str | None
    classes: frozenset[str]
    ident: str | None
    attrs: tuple[tuple[str, str | None], ...]

    def matches(self, tag: str, attrs: dict[str, str]) -> bool:
        if self.tag is not None and self.tag != tag:
            return False
        if self.ident is not None and attrs.get("id", "").strip().lower() != self.ident:
            return False
        if not self.classes <= set(attrs.get("class", "").lower().split()):
            return False
        for name, value in self.attrs:
            if name not in attrs or (value is not None and attrs[name].lower() != value):
                return False
        return True


def _selector(text: str) -> Selector | None:
    last = re.split(r"\s*[>+~]\s*|\s+", text.strip())[-1]
    if not last or ":" in last:
        return None
    m = _COMPOUND.match(last)
    if not m or not (m.group("tag") or m.group("rest")):
        return None
    classes: set[str] = set()
    ident = None
    attrs: list[tuple[str, str | None]] = []
    for part in _PART.finditer(m.group("rest")):
        if part.group(1) == ".":
            classes.add(part.group(2).lower())
        elif part.group(1) == "#":
            ident = part.group(2).lower()
        elif part.group(3):
            op, value = part.group(4), part.group(5)
            if op not in (None, "="):
                continue  # [a^=b] and friends: ignored
            attrs.append((part.group(3).lower(), value.strip("\"'").lower() if value else None))
    tag = m.group("tag")
    return Selector(
        None if tag in (None, "*") else tag.lower(), frozenset(classes), ident, tuple(attrs)
    )


_BRACE = re.compile(r"[{};]")


def _print_only(prelude: str) -> bool:
    q = prelude.lower()
    return q.startswith("@media") and "print" in q and "screen" not in q and "all" not in q


def _rules(css: str) -> Iterable[tuple[str, str]]:
    """(selector list, declarations) of a style sheet, skipping print-only @media."""
    css = _COMMENT.sub("", css)
    skipping: list[bool] = []  # one entry per open @-block
    i = 0
    while (m := _BRACE.search(css, i)) is not None:
        prelude = css[i : m.start()].strip()
        i = m.end()
        if m.group() == "}":
            if skipping:
                skipping.pop()
        elif m.group() == "{":
            if prelude.startswith("@"):
                skipping.append((bool(skipping) and skipping[-1]) or _print_only(prelude))
                continue
            end = css.find("}", i)
            if end < 0:
                return
            if not (skipping and skipping[-1]):
                yield prelude, css[i:end]
            i = end + 1


def hiding_selectors(sheets: Sequence[str]) -> tuple[Selector, ...]:
    """Selectors whose rule hides the element, from the page's style sheets."""
    out: list[Selector] = []
    for css in sheets:
        for prelude, body in _rules(css):
            if style_hides(declarations(body)):
                out.extend(s for s in map(_selector, prelude.split(",")) if s is not None)
    return tuple(out)


@dataclass(frozen=True)
class HiddenRules:
    classes: frozenset[str]
    selectors: tuple[Selector, ...]

    def hides(self, tag: str, attrs: Sequence[tuple[str, str | None]]) -> bool:
        values = {k: (v or "") for k, v in attrs}
        if "hidden" in values or values.get("aria-hidden", "").strip().lower() == "true":
            return True
        if tag == "dialog" and "open" not in values:
            return True
        if tag == "input" and values.get("type", "").strip().lower() == "hidden":
            return True
        if "style" in values and style_hides(declarations(values["style"])):
            return True
        if self.classes & set(values.get("class", "").lower().split()):
            return True
        return any(s.matches(tag, values) for s in self.selectors)
