"""Read-only telemetry of the simulated device.

Hardware-monitor readings (temperatures, voltages, currents, fan speeds) are simulated
around each sensor's nominal value, varying smoothly with time; host facts (CPU, memory,
disks, processes) are the real host's, through psutil.
"""

from __future__ import annotations

import math
import platform
import time
import zlib
from typing import Any

from reconciler.profiles import HardwareProfile

HWMON_KINDS = ("temperature", "voltage", "current", "fanspeed")


def hwmon(profile: HardwareProfile, now: float | None = None) -> dict[str, list[dict[str, Any]]]:
    """Readings in the platform portal's /platform/api/hwmon shape."""
    t = time.time() if now is None else now
    out: dict[str, list[dict[str, Any]]] = {kind: [] for kind in HWMON_KINDS}
    for sensor in profile.sensors:
        phase = zlib.crc32(sensor.name.encode()) % 628 / 100
        value = sensor.nominal + sensor.spread * math.sin(t / 97 + phase)
        digits = 0 if sensor.kind == "fanspeed" else 2
        out[sensor.kind].append(
            {"name": sensor.name, "value": round(value, digits), "unit": sensor.unit}
        )
    return out


def host_facts(profile: HardwareProfile) -> dict[str, Any]:
    import psutil

    vm = psutil.virtual_memory()
    return {
        "model": profile.model,
        "os": platform.system(),
        "osVersion": platform.release(),
        "arch": platform.machine(),
        "cpuCores": psutil.cpu_count() or 1,
        "memoryTotalBytes": vm.total,
        "bootTime": int(psutil.boot_time()),
    }


_cpu_primed = False


def _cpu_percent() -> float:
    """CPU use since the previous call; the first call in a process samples 50 ms."""
    global _cpu_primed
    import psutil

    if _cpu_primed:
        return float(psutil.cpu_percent(interval=None))
    _cpu_primed = True
    return float(psutil.cpu_percent(interval=0.05))


def system_usage() -> dict[str, Any]:
    import psutil

    vm = psutil.virtual_memory()
    return {
        "cpuPercent": _cpu_percent(),
        "memoryPercent": vm.percent,
        "uptimeSeconds": int(time.time() - psutil.boot_time()),
        "loadAverage": [round(x, 2) for x in psutil.getloadavg()],
    }


def disks() -> list[dict[str, Any]]:
    import psutil

    out = []
    for part in psutil.disk_partitions(all=False):
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except OSError:
            continue
        out.append(
            {
                "mountPoint": part.mountpoint,
                "device": part.device,
                "fsType": part.fstype,
                "sizeBytes": usage.total,
                "usedBytes": usage.used,
                "freeBytes": usage.free,
                "usedPercent": usage.percent,
                "readOnly": "ro" in part.opts.split(","),
            }
        )
    return out
