"""Rollout waves: which devices take a new commit first, and what the later ones wait for.

Written in the fleet's or a group's spec (`spec.rollout`), so it layers like any value;
it configures the agent, never device state. A device belongs to the first wave whose
selector its labels match (a device in no wave goes after the last one). It applies a new
commit only when every earlier wave reports, through the broker, at least `minHealthy` of
its online devices Synced on that commit; without a broker, each wave waits `after`.
"""

import re
from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema, field_validator

from reconciler.spec.base import Name, SpecModel

_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def seconds(duration: str) -> float:
    """`15m` -> 900.0."""
    match = _DURATION.match(duration)
    if match is None:
        raise ValueError(f"expected a duration such as 500ms, 30s, 15m, 2h or 1d, not {duration!r}")
    return float(match.group(1)) * _UNIT[match.group(2)]


def _duration(value: str) -> str:
    seconds(value)
    return value


Duration = Annotated[
    str,
    AfterValidator(_duration),
    WithJsonSchema({"type": "string", "pattern": _DURATION.pattern}),
]
"""A number and a unit: `500ms`, `30s`, `15m`, `2h`, `1d`."""


class Wave(SpecModel):
    name: Name
    """The wave's name, shown in the reason a later device waits (canary, site-a, ...)."""
    selector: dict[str, str] = Field(default_factory=dict)
    """Labels a device must all carry to be in this wave (empty: every device left)."""
    min_healthy: float = Field(default=1.0, ge=0, le=1)
    """Fraction of the wave's counted devices that must be Synced on the commit first."""
    after: Duration | None = None
    """Without a broker: take a commit this long after first seeing it (else wait)."""


class RolloutSpec(SpecModel):
    waves: list[Wave] = Field(min_length=1)
    """In order: a wave takes a commit once every earlier wave is healthy on it."""
    offline_after: Duration = "15m"
    """A device offline longer than this neither blocks its wave nor counts in it."""
    abort_on_failed: float | None = Field(default=None, ge=0, le=1)
    """A failed fraction above this in a wave stops every later wave (default: off)."""

    @field_validator("waves")
    @classmethod
    def _unique(cls, waves: list[Wave]) -> list[Wave]:
        names = [w.name for w in waves]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"wave names must be unique: {', '.join(twice)}")
        return waves
