"""Digital inputs and outputs by channel (gateway doc: PATCH /ios/di|do/{channel}).

Channels start at 1, as in the doc. The doc's ON/OFF states are written on/off here, like
LEDs and services; ON/OFF (any case) and YAML booleans are accepted and normalised.
"""

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from reconciler.profiles import HardwareProfile
from reconciler.spec.base import Loc, SpecModel


def _on_off(value: Any) -> Any:
    if isinstance(value, bool):
        return "on" if value else "off"
    return value.lower() if isinstance(value, str) else value


OnOff = Annotated[Literal["on", "off"], BeforeValidator(_on_off)]


class DigitalInput(SpecModel):
    mode: Literal["di", "counter"] | None = None
    """Expected channel mode. The gateway fixes it ("mode can't be modified"), so a mismatch
    is reported by plan, never changed; the doc gives no values, di/counter are our names."""
    auto_sampling: bool | None = None
    """Sample the input periodically (every pollingIntervalSec) instead of on request."""
    polling_interval_sec: int | None = Field(default=None, ge=5, le=3600)
    """Sampling period in seconds, 5..3600 (device default 10)."""


class DigitalOutput(SpecModel):
    mode: Literal["do", "pulse"] | None = None
    """Expected channel mode; fixed by the gateway like a DI's (reported, never changed)."""
    state: OnOff | None = None
    """Level to drive now: on or off (doc: status ON/OFF)."""
    initial_state: OnOff | None = None
    """Level the output takes at power-up, before the reconciler runs (doc: initStatus)."""


class IoSpec(SpecModel):
    di: dict[int, DigitalInput] | None = None
    """Digital input channels by number, starting at 1."""
    do: dict[int, DigitalOutput] | None = None
    """Digital output channels by number, starting at 1."""


def _channels(kind: str, count: int) -> str:
    return f"{kind} channels 1..{count}" if count else f"no {kind} channels"


def capability_problems(spec: IoSpec, profile: HardwareProfile) -> Iterator[tuple[Loc, str]]:
    for key, kind, channels, count in (
        ("di", "DI", spec.di, profile.digital_inputs),
        ("do", "DO", spec.do, profile.digital_outputs),
    ):
        for ch in channels or {}:
            if not 1 <= ch <= count:
                hint = " (channels start at 1)" if ch == 0 and count else ""
                yield (key, ch), f"{profile.model} has {_channels(kind, count)}{hint}"
