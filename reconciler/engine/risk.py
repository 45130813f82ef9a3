"""Risk class of a change, by spec path: what could go wrong when it is applied. The
rules themselves live with the areas (reconciler.areas)."""

from __future__ import annotations

from reconciler.areas import Risk, risk_of
from reconciler.engine.change import Item, Path


def classify(path: Path, value: object = None) -> tuple[Risk, str]:
    """(risk, why) for a change at `path` setting `value`; ("none", "") when nothing can
    break."""
    return risk_of([p.name if isinstance(p, Item) else p for p in path], value)
