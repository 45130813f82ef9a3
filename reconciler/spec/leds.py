"""User LEDs by index."""

from collections.abc import Iterator
from typing import Literal

from reconciler.profiles import HardwareProfile
from reconciler.spec.base import Loc

LedState = Literal["on", "off"]


def capability_problems(
    spec: dict[int, LedState], profile: HardwareProfile
) -> Iterator[tuple[Loc, str]]:
    for index in spec:
        if not 0 <= index < profile.leds:
            have = f"LEDs 0..{profile.leds - 1}" if profile.leds else "no user LEDs"
            yield (index,), f"{profile.model} has {have}"
