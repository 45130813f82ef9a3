"""System identity: host name, description, time zone, NTP servers."""

import re
from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema, field_validator

from reconciler.spec.banner import BannerSpec
from reconciler.spec.base import HostOrIp, SpecModel
from reconciler.spec.logs import AuditLogSpec, SystemLogSpec
from reconciler.spec.platform import EncryptedDisk, Switch

HOSTNAME_MAX = 64
"""The gateway doc's limit (general: hostName [1..64]); Linux's HOST_NAME_MAX is 64 too, so
the linux backend (hostnamectl, sethostname(2), /etc/hostname) takes every name allowed."""
_LABEL = r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")


def _suggest(value: str) -> str | None:
    """A close name that passes: other characters become '-', edge hyphens go, labels cut
    at 63, trailing labels dropped to fit 64."""
    labels = [
        re.sub(r"[^A-Za-z0-9-]+", "-", p).strip("-")[:63].strip("-") for p in value.split(".")
    ]
    guess = ""
    for label in filter(None, labels):
        if len(guess) + len(label) + bool(guess) > HOSTNAME_MAX:
            break
        guess = f"{guess}.{label}" if guess else label
    return guess if guess != value and _HOSTNAME.match(guess) else None


def _device_hostname(value: str) -> str:
    """The gateway doc's rule: 1..64 characters; labels of 1..63 letters, digits and '-',
    starting with a letter and ending with a letter or digit."""
    if len(value) <= HOSTNAME_MAX and _HOSTNAME.match(value):
        return value
    bad = next((p for p in value.split(".") if not re.fullmatch(_LABEL, p)), None)
    if bad is not None:
        problem = (
            f"invalid host name label {bad!r}: use 1-63 letters, digits or '-', "
            "starting with a letter and ending with a letter or digit"
        )
    else:
        problem = f"host name is {len(value)} characters, longer than {HOSTNAME_MAX}"
    hint = _suggest(value)
    raise ValueError(f"{problem}; did you mean {hint!r}?" if hint else problem)


DeviceHostname = Annotated[
    str,
    AfterValidator(_device_hostname),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": HOSTNAME_MAX,
            "pattern": _HOSTNAME.pattern,
        }
    ),
]


class SystemSpec(SpecModel):
    hostname: DeviceHostname | None = None
    """Host name by the gateway doc's rule (general: hostName): at most 64 characters, labels
    of 1..63 letters, digits or '-' that start with a letter and end with a letter or digit.
    The doc wins over DESIGN's generic "hostname label rules" (RFC 1123, labels may start
    with a digit, 253 characters) because issue 17 asks for the doc's limits exactly; Linux's
    HOST_NAME_MAX is also 64, so the linux backend takes every name allowed here."""
    description: str | None = Field(default=None, max_length=512)
    """Free text shown by the device: one line of at most 512 characters (gateway doc:
    general.description)."""
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

    @field_validator("description")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and re.search(r"[\x00-\x1f\x7f]", value):
            raise ValueError("the description is one line of text (no control characters)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value != "UTC" and not _listed_zone(value):
            raise ValueError(f"unknown time zone {value!r} (expected an IANA name)")
        return value


def _listed_zone(name: str) -> bool:
    """An IANA name known to this machine, as zoneinfo.available_timezones() would list it
    (on a case-sensitive file system), found by reading its one zone file instead of walking
    them all (19 ms of a cold plan). A zone file that cannot be read, damaged or cut short,
    is no known zone."""
    from zoneinfo import ZoneInfo

    if name == "posixrules" or name.startswith(("posix/", "right/")):
        return False  # files in the zoneinfo tree that available_timezones() leaves out
    try:
        ZoneInfo(name)
    except Exception:  # not found, not a zone file, a damaged one (struct.error), ...
        return False
    return True
