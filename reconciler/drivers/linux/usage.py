"""Telemetry: CPU and memory usage from /proc, CPU as the busy share since the last sample
(the first sample is taken when the backend opens)."""

from __future__ import annotations

from typing import Any

from reconciler.drivers.linux.facts import procfs
from reconciler.drivers.linux.host import Host


class UsageSampler:
    def __init__(self, host: Host) -> None:
        self.host = host
        self.last = self.sample()

    def sample(self) -> dict[str, int]:
        return dict(procfs.proc_stat(self.host.read("/proc/stat") or "")["cpu"])

    def usage(self) -> dict[str, Any]:
        now = self.sample()
        percent = procfs.cpu_percent(self.last, now)
        self.last = now
        memory = procfs.memory_usage(procfs.meminfo(self.host.read("/proc/meminfo") or ""))
        return {
            "cpuPercent": percent,
            "memoryPercent": memory["usedPercent"],
            "memory": memory,
            "uptimeSeconds": int(procfs.uptime(self.host.read("/proc/uptime") or "0")),
            "loadAverage": procfs.loadavg(self.host.read("/proc/loadavg") or "0 0 0"),
        }
