"""Tags: dotted paths into the observed document, their readings, and writes as Changes.

The document is what `backend.observe_all()` returns (configuration plus telemetry) with a
`reconciler` section made from the agent's status file. Readings carry a quality, so a
value that could not be read is never served as if it were fresh.
"""

from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

from reconciler.engine.change import Change
from reconciler.services.modbus.codec import CodecError, flag, number
from reconciler.spec.modbus import tag_path, tag_writable

Quality = Literal["good", "bad", "pending"]

HWMON_KINDS = {
    "temperatures": "temperature",
    "voltages": "voltage",
    "currents": "current",
    "fanspeeds": "fanspeed",
}
"""The status endpoint's plural routes name the observed hwmon lists too."""


class TagError(LookupError):
    """A tag that does not resolve, or a value it cannot take; the message says why."""


@dataclass(frozen=True)
class Reading:
    """A tag's value with its quality: `timestamp` is when the value was last good."""

    value: Any = None
    quality: Quality = "pending"
    timestamp: float | None = None
    error: str | None = None

    def failed(self, error: str) -> Reading:
        """Same last value, marked bad: stale numbers are never presented as fresh."""
        return Reading(self.value, "bad", self.timestamp, error)

    def as_dict(self) -> dict[str, Any]:
        stamp = None
        if self.timestamp is not None:
            ms = int(self.timestamp * 1000) % 1000
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.timestamp))
            stamp += f".{ms:03d}Z"
        return {
            "value": self.value,
            "quality": self.quality,
            "timestamp": stamp,
            "error": self.error,
        }


def _key(name: str) -> str:
    """Sensor and item names as tag segments: 'CMOS Battery' matches cmos-battery."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _step(node: Any, part: str) -> Any:
    if isinstance(node, dict):
        if part in node:
            return node[part]
        raise TagError(f"no {part!r}")
    if isinstance(node, list):
        for item in node:
            if isinstance(item, dict) and _key(str(item.get("name", ""))) == _key(part):
                return item.get("value", item)
        raise TagError(f"no item named {part!r}")
    raise TagError(f"{part!r} is below a plain value")


def resolve(document: dict[str, Any], tag: str) -> Any:
    """The value a tag names in the observed document; TagError says which part is missing."""
    path = tag_path(tag)
    if path[0] == "hwmon" and len(path) > 1:
        path = ("hwmon", HWMON_KINDS.get(path[1], path[1]), *path[2:])
    node: Any = document
    for depth, part in enumerate(path):
        try:
            node = _step(node, part)
        except TagError as exc:
            where = ".".join(path[:depth]) or "the observed state"
            raise TagError(f"{tag}: {exc} in {where}") from None
    if isinstance(node, dict | list) and not (
        isinstance(node, list) and all(not isinstance(v, dict | list) for v in node)
    ):
        raise TagError(f"{tag} is a whole section, not a value")
    return node


def _epoch(iso: Any) -> int | None:
    if not isinstance(iso, str):
        return None
    try:
        return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return None


def reconciler_section(status: dict[str, Any] | None) -> dict[str, Any]:
    """The reconciler.* tags from the agent's status document (see reconciler/syncstatus.py).

    Times are Unix seconds so numeric zones can carry them; syncStateCode numbers the
    states in SYNC_STATES order (0 Synced), -1 when no agent has run.
    """
    from reconciler.syncstatus import SYNC_STATES

    status = status or {}
    state = status.get("syncState")
    return {
        "syncState": state or "Unknown",
        "syncStateCode": SYNC_STATES.index(state) if state in SYNC_STATES else -1,
        "inSync": state == "Synced",
        "lastAppliedAt": _epoch(status.get("lastAppliedAt")),
        "lastAppliedCommit": status.get("lastAppliedCommit") or "",
        "lastFetchedAt": _epoch(status.get("lastFetchedAt")),
        "driftCount": len(status.get("drift") or []),
    }


# --- writes ----------------------------------------------------------------------------------


def _vocabulary(path: tuple[str, ...], value: Any) -> Any:
    """A written number in the words the device uses for this tag."""
    if path[0] == "gpio":
        return "high" if flag(value) else "low"
    if path[0] == "io":
        return "on" if flag(value) else "off"
    if path == ("watchdog", "enabled"):
        return flag(value)
    n = number(value)
    if n != round(n):
        raise CodecError(f"{'.'.join(path)} takes whole numbers, not {n}")
    return round(n)


def device_change(document: dict[str, Any], tag: str, value: Any) -> Change:
    """The Change a Modbus write to a device tag makes: TagError when the tag cannot be
    written, CodecError when it cannot take the value."""
    path = tag_path(tag)
    if path[0] == "modbus" or not tag_writable(path):
        raise TagError(f"{tag} is read-only")
    before = resolve(document, tag)
    return Change(path=path, op="replace", before=before, after=_vocabulary(path, value))
