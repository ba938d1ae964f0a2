"""Silence Hugging Face progress bars (kb draws its own): shared by the
sentence-transformers embedder and the e5 conversion, so neither imports the other."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def quiet_transformers() -> None:
    """No weight-loading progress bars on the user's terminal (kb draws its own)."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        from huggingface_hub import utils as hub_utils

        hub_utils.disable_progress_bars()  # type: ignore[attr-defined]
    except Exception:  # pragma: no cover - optional nicety
        log.debug("could not disable transformers progress bars")
