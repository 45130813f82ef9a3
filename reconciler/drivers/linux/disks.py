"""Telemetry: disks from /sys/block with their mounted partitions (statvfs) and, when
smartctl is installed, S.M.A.R.T. data, in the portal's perif/disk shape."""

from __future__ import annotations

import contextlib
import json
import os
import re
from typing import Any

from reconciler.drivers.linux.facts import procfs, smart
from reconciler.drivers.linux.host import Host

VIRTUAL = re.compile(r"^(loop|ram|zram|dm-|md|sr|fd)")


def partitions(host: Host, disk: str) -> list[dict[str, Any]]:
    """One row per partition of `disk`, at its first mount point: a bind mount (or another
    mount of the same filesystem) is the same partition again, not a second one."""
    out = []
    seen = set()
    for m in procfs.mounts(host.read("/proc/mounts") or ""):
        device = m["device"].removeprefix("/dev/")
        if not device.startswith(disk) or device in seen:
            continue
        seen.add(device)
        try:
            st = os.statvfs(host.path(m["mountPoint"]))
        except OSError:
            continue
        size = st.f_blocks * st.f_frsize
        free = st.f_bavail * st.f_frsize
        used = size - st.f_bfree * st.f_frsize
        out.append(
            {
                "device": m["device"],
                "mountPoint": m["mountPoint"],
                "fsType": m["fsType"],
                "sizeBytes": size,
                "freeBytes": free,
                "usedBytes": used,
                "usedPercent": round(100 * used / (used + free), 1) if used + free else 0.0,
                "readOnly": m["readOnly"],
            }
        )
    return out


def disks(host: Host) -> list[dict[str, Any]]:
    out = []
    with_smart = host.has("smartctl")
    for name in host.listdir("/sys/block"):
        if VIRTUAL.match(name):
            continue
        base = f"/sys/block/{name}"

        def attr(path: str, base: str = base) -> str:
            return (host.read(f"{base}/{path}") or "").strip()

        disk: dict[str, Any] = {
            "name": f"/dev/{name}",
            "sizeBytes": int(attr("size") or 0) * 512,
            "physicalBlockSizeBytes": int(attr("queue/physical_block_size") or 0),
            "removable": attr("removable") == "1",
            "rotational": attr("queue/rotational") == "1",
            "vendor": attr("device/vendor"),
            "model": attr("device/model"),
            "serialNumber": attr("device/serial"),
            "partitions": partitions(host, name),
        }
        if with_smart:
            result = host.run(["smartctl", "-j", "-a", f"/dev/{name}"], check=False)
            with contextlib.suppress(ValueError):  # no JSON: smartctl cannot read this disk
                disk.update({k: v for k, v in smart.smart(json.loads(result.stdout)).items() if v})
        out.append(disk)
    return out
