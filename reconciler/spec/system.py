"""System identity: host name, description, time zone, NTP servers."""

from __future__ import annotations

from functools import cache

from pydantic import Field, field_validator

from reconciler.spec.banner import BannerSpec
from reconciler.spec.base import Hostname, HostOrIp, SpecModel
from reconciler.spec.logs import AuditLogSpec, SystemLogSpec
from reconciler.spec.platform import EncryptedDisk, Switch


class SystemSpec(SpecModel):
    hostname: Hostname | None = None
    """Host name (RFC 1123 labels)."""
    description: str | None = Field(default=None, max_length=255)
    """Free text shown by the device (the gateway doc caps it at 255 characters)."""
    timezone: str | None = None
    """IANA time zone name such as Europe/Berlin, or UTC."""
    ntp: list[HostOrIp] | None = Field(default=None, max_length=8)
    """NTP servers in order of preference."""
    banner: BannerSpec | None = None
    """System use notification: the notice shown before login."""
    system_log: SystemLogSpec | None = None
    """System log size and retention."""
    audit_log: AuditLogSpec | None = None
    """Audit log size, retention and alert threshold (linux: unavailable)."""
    serial_console: Switch | None = None
    """Login console on the serial line (linux: serial-getty@ttyS0)."""
    bios: Switch | None = None
    """BIOS configuration switch, on models that have it (linux: unavailable)."""
    discovery: Switch | None = None
    """The discovery service that lets tools find the unit (doc: provision; linux:
    unavailable)."""
    encrypted_storage: list[EncryptedDisk] | None = None
    """Partitions to encrypt (doc: encrypt-storage; linux: unavailable)."""

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
