"""What every device backend offers: the engine's view (reconciler.engine.ports.Backend)
plus the hardware profile and the read-only telemetry that `observe`, Modbus tags and the
status endpoint read."""

from __future__ import annotations

from typing import Any, Protocol

from reconciler.engine.ports import AreaDriver
from reconciler.profiles import HardwareProfile


class DeviceBackend(Protocol):
    name: str
    profile: HardwareProfile

    def driver(self, area: str) -> AreaDriver: ...

    def observe(self) -> dict[str, Any]:
        """Configuration areas only: what the planner compares (fast)."""
        ...

    def observe_all(self) -> dict[str, Any]:
        """Configuration plus telemetry (system.cpuPercent, hwmon, host, disks)."""
        ...
