"""What a conversion recorded about the converted model (``kb_conversion.json``):
its source file and hash, and how closely it matched the engine."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MARKER = "kb_conversion.json"


@dataclass
class ConversionInfo:
    source: str
    source_sha256: str
    verified: bool
    min_cosine: float
    mean_cosine: float
    threshold: float
    seconds: float
    created: float
    bf16_min_cosine: float | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def read_marker(model_dir: Path) -> ConversionInfo | None:
    try:
        raw = json.loads((model_dir / MARKER).read_text(encoding="utf-8"))
        return ConversionInfo(**raw)
    except (OSError, ValueError, TypeError):
        return None
