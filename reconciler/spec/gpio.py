"""GPIO pins by index: direction and, for outputs, the level to drive."""

from collections.abc import Iterator
from typing import Literal, Self

from pydantic import model_validator

from reconciler.profiles import HardwareProfile
from reconciler.spec.base import Loc, SpecModel


class GpioPin(SpecModel):
    direction: Literal["input", "output"] | None = None
    """Pin direction (platform portal: /platform/api/perif/gpio/:id/dir)."""
    level: Literal["high", "low"] | None = None
    """Output level; only valid for output pins (an input's level is read, not set)."""

    @model_validator(mode="after")
    def _level_needs_output(self) -> Self:
        if self.level is not None and self.direction == "input":
            raise ValueError("an input pin cannot have a level; set direction: output")
        return self


class GpioSpec(SpecModel):
    pins: dict[int, GpioPin] | None = None
    """Pins by index, 0-based."""


def capability_problems(spec: GpioSpec, profile: HardwareProfile) -> Iterator[tuple[Loc, str]]:
    for pin in spec.pins or {}:
        if not 0 <= pin < profile.gpio_pins:
            have = f"pins 0..{profile.gpio_pins - 1}" if profile.gpio_pins else "no GPIO pins"
            yield ("pins", pin), f"{profile.model} has {have}"
