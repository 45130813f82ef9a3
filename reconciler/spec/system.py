"""System identity: host name, description, time zone, NTP servers."""

from __future__ import annotations

from functools import cache

from pydantic import Field, field_validator

from reconciler.spec.base import Hostname, HostOrIp, SpecModel


class SystemSpec(SpecModel):
    hostname: Hostname | None = None
    """Host name (RFC 1123 labels)."""
    description: str | None = Field(default=None, max_length=255)
    """Free text shown by the device (the gateway doc caps it at 255 characters)."""
    timezone: str | None = None
    """IANA time zone name such as Europe/Berlin, or UTC."""
    ntp: list[HostOrIp] | None = Field(default=None, max_length=8)
    """NTP servers in order of preference."""

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value not in _timezones() and value != "UTC":
            raise ValueError(f"unknown time zone {value!r} (expected an IANA name)")
        return value


@cache
def _timezones() -> frozenset[str]:
    """IANA names known to this machine; read once (a walk of the zoneinfo directories)."""
    from zoneinfo import available_timezones

    return frozenset(available_timezones())
