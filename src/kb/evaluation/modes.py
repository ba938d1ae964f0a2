"""The retrieval configurations ``kb eval`` can compare (``--modes``)."""

from __future__ import annotations

from dataclasses import dataclass

from kb.errors import EvalError
from kb.evaluation.metrics import dedupe


@dataclass(frozen=True)
class ModeSpec:
    """One retrieval configuration, expressed as HybridRetriever options."""

    name: str
    mode: str
    center_languages: bool = True
    expand_query: bool = True
    # fusion weights changed from the settings' (e.g. {"entity": 0.0})
    weight_changes: dict[str, float] | None = None

    def options(self) -> dict[str, object]:
        out: dict[str, object] = {
            "mode": self.mode,
            "center_languages": self.center_languages,
            "expand_query": self.expand_query,
        }
        if self.weight_changes is not None:
            out["weight_changes"] = dict(self.weight_changes)
        return out


VARIANTS: dict[str, ModeSpec] = {
    s.name: s
    for s in (
        ModeSpec("lexical", "lexical"),
        ModeSpec("dense", "dense"),
        ModeSpec("hybrid", "hybrid"),
        ModeSpec("hybrid-nocenter", "hybrid", center_languages=False),
        ModeSpec("hybrid-noexpand", "hybrid", expand_query=False),
        ModeSpec("hybrid-nosentence", "hybrid", weight_changes={"sentence": 0.0}),
        ModeSpec("hybrid-noentity", "hybrid", weight_changes={"entity": 0.0}),
        ModeSpec("hybrid-nosecond", "hybrid", weight_changes={"second": 0.0}),
        ModeSpec("dense-nocenter", "dense", center_languages=False),
        ModeSpec("lexical-noexpand", "lexical", expand_query=False),
    )
}
DEFAULT_MODES = (
    "lexical",
    "dense",
    "hybrid",
    "hybrid-nocenter",
    "hybrid-noexpand",
    "hybrid-noentity",
)


def parse_modes(text: str) -> list[ModeSpec]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise EvalError("--modes is empty")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise EvalError(f"unknown mode {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    return [VARIANTS[n] for n in dedupe(names)]
