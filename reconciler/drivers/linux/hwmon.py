"""Telemetry: hardware-monitor readings from /sys/class/hwmon in the portal's hwmon shape."""

from __future__ import annotations

from typing import Any

from reconciler.drivers.linux.facts import sysfs
from reconciler.drivers.linux.host import Host, Unavailable


def hwmon(host: Host) -> dict[str, list[dict[str, Any]]]:
    readings = sysfs.hwmon(host.tree("/sys/class/hwmon"))
    if not any(readings.values()):
        raise Unavailable("no hardware-monitor sensors in /sys/class/hwmon")
    return readings
