"""The e5 prompts: the one definition (the converted model records them in its
sentence-transformers config; the bundled engine applies them itself)."""

from __future__ import annotations

E5_PROMPTS: dict[str, str] = {"query": "query: ", "passage": "passage: "}
