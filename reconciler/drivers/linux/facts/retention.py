"""Pure parsers of the Debian settings behind the gateway doc's system groups: journald's
log retention (as the doc's system log fields) and gpsd's defaults file (as its gps mode)."""

from __future__ import annotations

import re
from typing import Any

from reconciler.drivers.linux.facts.config import env_file, merged_ini

_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SPAN_UNITS = {
    "": 1,
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
    "month": 2630016,
    "months": 2630016,
    "y": 31557600,
    "year": 31557600,
    "years": 31557600,
}
_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)")


def size_bytes(text: str) -> int | None:
    """A journald size (`100M`, `1G`, `4096`: base 1024); None when not a size."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)B?\s*", text.upper())
    if not match:
        return None
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])


def span_seconds(text: str) -> int | None:
    """A systemd time span (`7day`, `1w 2d`, `86400`); None when not one."""
    text = text.strip()
    parts = _SPAN.findall(text)
    if not parts or _SPAN.sub("", text).strip():
        return None
    total = 0.0
    for number, unit in parts:
        if unit not in _SPAN_UNITS:
            return None
        total += float(number) * _SPAN_UNITS[unit]
    return int(total)


def journald(texts: list[str]) -> dict[str, Any]:
    """journald.conf and its drop-ins (in order) as the doc's system log fields: SystemMaxUse
    in MB, MaxRetentionSec as whole days (0 or unset: no time to live). The journal is on
    the system disk."""
    section = merged_ini(texts).get("Journal", {})
    out: dict[str, Any] = {"targetDiskName": "System"}
    size = size_bytes((section.get("SystemMaxUse") or [""])[-1])
    if size is not None:
        out["desiredDiskCacheSizeMB"] = size // 1024**2
    seconds = span_seconds((section.get("MaxRetentionSec") or ["0"])[-1]) or 0
    out["enableTimeToLive"] = seconds > 0
    if seconds > 0:
        out["timeToLiveDay"] = max(1, round(seconds / 86400))
    return out


def gpsd_defaults(text: str) -> dict[str, Any]:
    """/etc/default/gpsd: whether the daemon starts (the doc's mode auto, else manual), and
    the receivers and options it is given."""
    env = env_file(text)
    start = env.get("START_DAEMON", "true").lower() == "true"
    return {
        "mode": "auto" if start else "manual",
        "devices": env.get("DEVICES", "").split(),
        "options": env.get("GPSD_OPTIONS", ""),
    }
