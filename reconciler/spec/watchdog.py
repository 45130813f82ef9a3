"""Hardware watchdog: enabled and timeout; the range comes from the model's profile."""

from collections.abc import Iterator

from pydantic import Field

from reconciler.profiles import HardwareProfile
from reconciler.spec.base import Loc, SpecModel


class WatchdogSpec(SpecModel):
    enabled: bool | None = None
    """Arm the hardware watchdog (platform portal: PUT /platform/api/perif/wdt)."""
    timeout_seconds: int | None = Field(default=None, ge=1, le=65535)
    """Seconds without a keep-alive before the device resets; bounded by the model."""


def capability_problems(spec: WatchdogSpec, profile: HardwareProfile) -> Iterator[tuple[Loc, str]]:
    if not profile.has_watchdog():
        yield (), f"model {profile.model} has no hardware watchdog"
        return
    t = spec.timeout_seconds
    if t is not None and not profile.watchdog_min <= t <= profile.watchdog_max:
        yield (
            ("timeoutSeconds",),
            f"{t} is outside {profile.model}'s watchdog range "
            f"{profile.watchdog_min}..{profile.watchdog_max} s",
        )
