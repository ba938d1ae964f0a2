"""Gradio web UI (placeholder until the UI lands)."""
from __future__ import annotations

from typing import Any


def launch(kb: Any) -> None:
    raise NotImplementedError
