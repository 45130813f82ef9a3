"""Platform switches of the gateway's system group: serial console, BIOS configuration,
the discovery (provision) service and storage encryption."""

from collections.abc import Iterator

from pydantic import Field, field_validator

from reconciler.profiles import HardwareProfile
from reconciler.spec.base import Loc, SecretRef, SpecModel


class Switch(SpecModel):
    enable: bool
    """On or off (the doc's only field for this group)."""


class EncryptedDisk(SpecModel):
    """One encrypted partition (gateway doc: PUT /system/encrypt-storage)."""

    disk: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    """Disk partition name as the unit names it, e.g. USB3_p2."""
    encrypted: bool = Field(json_schema_extra={"const": True})
    """Encrypt the partition. Only true: the doc does not allow turning encryption off."""
    password: SecretRef
    """The encryption password, by secretRef (the doc sends it in clear; Git must not
    hold it)."""

    @field_validator("encrypted")
    @classmethod
    def _only_on(cls, value: bool) -> bool:
        if not value:
            raise ValueError("encryption cannot be turned off (the unit allows enabling only)")
        return value


def capability_problems(
    bios: Switch | None, disks: list[EncryptedDisk] | None, profile: HardwareProfile
) -> Iterator[tuple[Loc, str]]:
    if bios is not None and not profile.bios_setting:
        yield ("bios",), f"model {profile.model} has no BIOS configuration switch"
    seen: set[str] = set()
    for i, disk in enumerate(disks or []):
        if disk.disk in seen:
            yield ("encryptedStorage", i, "disk"), f"duplicate disk {disk.disk!r}"
        seen.add(disk.disk)
