"""Telemetry: CPU and memory usage from /proc. CPU is the busy share over a real interval
of at least MIN_INTERVAL_S, one second as `mpstat 1 1` measures: a sample taken a few
milliseconds after the previous one measures only this tool's own run (100 %). A
long-running process keeps the share of its last full interval between samples, so warm
reads never wait; a one-shot read waits out the interval once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from reconciler.drivers.linux.facts import procfs
from reconciler.drivers.linux.host import Host

MIN_INTERVAL_S = 1.0


class UsageSampler:
    def __init__(
        self,
        host: Host,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.host, self.clock, self.sleep = host, clock, sleep
        self.last, self.last_at = self.sample(), clock()
        self.percent: float | None = None

    def sample(self) -> dict[str, int]:
        return dict(procfs.proc_stat(self.host.read("/proc/stat") or "")["cpu"])

    def cpu_percent(self) -> float:
        """The busy share over the newest interval of at least MIN_INTERVAL_S."""
        waited = self.clock() - self.last_at
        if waited < MIN_INTERVAL_S:
            if self.percent is not None:
                return self.percent
            self.sleep(MIN_INTERVAL_S - waited)
        now = self.sample()
        self.percent = procfs.cpu_percent(self.last, now)
        self.last, self.last_at = now, self.clock()
        return self.percent

    def usage(self) -> dict[str, Any]:
        memory = procfs.memory_usage(procfs.meminfo(self.host.read("/proc/meminfo") or ""))
        return {
            "cpuPercent": self.cpu_percent(),
            "memoryPercent": memory["usedPercent"],
            "memory": memory,
            "uptimeSeconds": int(procfs.uptime(self.host.read("/proc/uptime") or "0")),
            "loadAverage": procfs.loadavg(self.host.read("/proc/loadavg") or "0 0 0"),
        }
