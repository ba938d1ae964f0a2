"""Clean text built piece by piece, remembering the source span of every character.

A character copied from the source maps to itself; a replacement (a decoded entity,
a newline or a space standing for markup or collapsed white space) maps to the
whole source span it replaces.
"""

from __future__ import annotations


class Builder:
    def __init__(self, original: str) -> None:
        self.original = original
        self.parts: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.length = 0

    def keep(self, start: int, end: int) -> None:
        if end <= start:
            return
        self.parts.append(self.original[start:end])
        self.starts.extend(range(start, end))
        self.ends.extend(range(start + 1, end + 1))
        self.length += end - start

    def replace(self, text: str, start: int, end: int) -> None:
        if not text:
            return
        self.parts.append(text)
        self.starts.extend([start] * len(text))
        self.ends.extend([end] * len(text))
        self.length += len(text)

    def text(self) -> str:
        return "".join(self.parts)

    def last(self) -> str:
        """The last character written ("" when nothing was)."""
        return self.parts[-1][-1] if self.parts else ""


def heading_lines(text: str, marks: list[tuple[int, int]]) -> tuple[tuple[int, str, int], ...]:
    """(offset, heading text, level) for each (offset, level) mark: the heading is
    the rest of its line; marks on empty lines are dropped."""
    found = []
    for offset, level in marks:
        line_end = text.find("\n", offset)
        line = text[offset : line_end if line_end >= 0 else len(text)].strip()
        if line:
            found.append((offset, line, level))
    return tuple(found)
