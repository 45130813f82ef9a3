"""Telemetry: host identity in the portal's host/info shape (os-release, kernel, DMI), and
its displays: connected DRM connectors, and whether a backlight can be switched off."""

from __future__ import annotations

import platform
from typing import Any

from reconciler.drivers.linux.devices import attributes
from reconciler.drivers.linux.facts import config, hardware, procfs
from reconciler.drivers.linux.host import Host

DMI = "/sys/class/dmi/id"


def host_info(host: Host, model: str) -> dict[str, Any]:
    release = config.env_file(host.read("/etc/os-release") or "")
    stat = procfs.proc_stat(host.read("/proc/stat") or "")
    mem = procfs.meminfo(host.read("/proc/meminfo") or "")

    def dmi(name: str) -> str:
        return (host.read(f"{DMI}/{name}") or "").strip()

    out: dict[str, Any] = {
        "model": model,
        "hostname": (host.read("/proc/sys/kernel/hostname") or "").strip(),
        "os": "linux",
        "platform": release.get("PRETTY_NAME", ""),
        "kernelVersion": (host.read("/proc/sys/kernel/osrelease") or "").strip(),
        "kernelArch": platform.machine(),
        "cpuCores": stat["cpuCount"],
        "memoryTotalBytes": mem.get("MemTotal", 0),
        "bootTime": stat.get("btime", 0),
        "upTime": int(procfs.uptime(host.read("/proc/uptime") or "0")),
        "displayCount": hardware.displays(attributes(host, "/sys/class/drm", ("status",))),
        "displayPowerControl": any(
            host.exists(f"/sys/class/backlight/{name}/bl_power")
            for name in host.listdir("/sys/class/backlight")
        ),
    }
    for key, attr in (
        ("deviceName", "product_name"),
        ("vendor", "sys_vendor"),
        ("biosVersion", "bios_version"),
        ("releaseDate", "bios_date"),
        ("biosSerialNumber", "product_serial"),
        ("biosUUID", "product_uuid"),
    ):
        value = dmi(attr)
        if value:
            out[key] = value
    machine_id = (host.read("/etc/machine-id") or "").strip()
    if machine_id:
        out["hostid"] = machine_id
    return out
