"""Telemetry: processes from /proc in the portal's processes shape (CPU share over each
process's lifetime, resident memory, owner, elapsed seconds)."""

from __future__ import annotations

import os
from typing import Any

from reconciler.drivers.linux.facts import accounts, procfs
from reconciler.drivers.linux.host import Host

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def processes(host: Host) -> list[dict[str, Any]]:
    users = {u["uid"]: u["name"] for u in accounts.passwd(host.read("/etc/passwd") or "")}
    up = procfs.uptime(host.read("/proc/uptime") or "0")
    out = []
    for pid in host.listdir("/proc"):
        if not pid.isdigit():
            continue
        stat = host.read(f"/proc/{pid}/stat")
        status = host.read(f"/proc/{pid}/status")
        if stat is None or status is None:
            continue  # exited meanwhile
        s = procfs.pid_stat(stat)
        elapsed = max(up - s["starttime"] / CLK_TCK, 0.001)
        uid = procfs.status_uid(status)
        cmdline = (host.read(f"/proc/{pid}/cmdline") or "").replace("\0", " ").strip()
        entry: dict[str, Any] = {
            "pid": s["pid"],
            "ppid": s["ppid"],
            "name": s["name"],
            "numThreads": s["numThreads"],
            "memUsage": s["rssPages"] * PAGE,
            "cpuPercent": round(100 * (s["utime"] + s["stime"]) / CLK_TCK / elapsed, 3),
            "username": users.get(uid, str(uid)) if uid is not None else "",
            "elapsedTime": int(elapsed),
        }
        if cmdline:
            entry["cmdline"] = cmdline
        out.append(entry)
    return out
