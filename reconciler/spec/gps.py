"""GPS receiver: automatic fixes or a manual position (gateway doc: PATCH /gps).

Only models with a receiver (profile `gps`) may declare it. On linux, mode maps to
gpsd (/etc/default/gpsd START_DAEMON and the gpsd service); gpsd has no fixed-position
setting, so a manual `location` is reported unavailable there.
"""

from collections.abc import Iterator
from typing import Literal

from pydantic import Field

from reconciler.profiles import HardwareProfile
from reconciler.spec.base import Loc, SpecModel


class GpsLocation(SpecModel):
    latitude: float = Field(ge=-90, le=90)
    """Degrees north (negative: south), -90..90."""
    longitude: float = Field(ge=-180, le=180)
    """Degrees east (negative: west), -180..180."""


class GpsSpec(SpecModel):
    """GPS settings (models with a receiver). linux: mode drives gpsd (START_DAEMON in
    /etc/default/gpsd and the gpsd service); the manual location is kept by the agent,
    gpsd having no fixed-position setting."""

    mode: Literal["manual", "auto"]
    """auto: the receiver's fixes; manual: the fixed `location` below (required by the doc)."""
    location: GpsLocation | None = None
    """The position reported in manual mode (the doc's GpsLocation: latitude, longitude)."""


def capability_problems(spec: GpsSpec, profile: HardwareProfile) -> Iterator[tuple[Loc, str]]:
    if not profile.gps:
        yield (), f"model {profile.model} has no GPS receiver"
        return
    if spec.mode == "manual" and spec.location is None:
        yield ("mode",), "manual mode needs a location (latitude, longitude)"
