"""Which driver class handles which area (shared by the backend and, through
`reopen_driver`, the engine's revert guard)."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import import_module
from pathlib import Path
from typing import Any

from reconciler.areas import BY_NAME, implemented_by
from reconciler.drivers.linux.context import Context, LinuxOptions
from reconciler.drivers.linux.host import Host
from reconciler.drivers.linux.runner import SubprocessRunner
from reconciler.drivers.linux.stored import StoredDriver
from reconciler.engine.change import Change
from reconciler.engine.ports import AreaDriver, SecretLookup
from reconciler.errors import DeviceUnavailable

DRIVERS: dict[str, str] = {
    "system": "system:SystemDriver",
    "network": "network:NetworkDriver",
    "firewall": "firewall:FirewallDriver",
    "access": "access:AccessDriver",
    "watchdog": "watchdog:WatchdogDriver",
    "gpio": "gpio:GpioDriver",
    "leds": "leds:LedsDriver",
    "serial": "serial:SerialDriver",
    "services": "services:ServicesDriver",
    "update": "update:UpdateDriver",
    "files": "managed_files:FilesDriver",
    "operations": "operations:OperationsDriver",
    "gps": "gps:GpsDriver",
    "vpn": "vpn:VpnDriver",
}
"""area -> `module:Class` under reconciler.drivers.linux, imported when the area is used:
a plan of two areas does not pay for importing the other drivers (crypt, nftables, ...)."""
STORED = ("modbus", "cloud")
"""Areas whose settings the agent's own services read: kept in the state dir."""
CONFIG_AREAS = implemented_by("linux")


class NotManaged:
    """An area this backend has no driver for (io, brightness): says so on apply."""

    def __init__(self, area: str) -> None:
        self.area = area

    def observe(self) -> Any:
        return None

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        why = BY_NAME[self.area].why_unavailable("linux") if self.area in BY_NAME else ""
        raise DeviceUnavailable(
            f"the linux backend does not manage {self.area}" + (f": {why}" if why else "")
        )


def make_driver(ctx: Context, area: str) -> AreaDriver:
    if area in DRIVERS:
        module, _, name = DRIVERS[area].partition(":")
        driver_class = getattr(import_module(f"reconciler.drivers.linux.{module}"), name)
        driver: AreaDriver = driver_class(ctx)
        return driver
    if area in STORED:
        return StoredDriver(ctx, area)
    return NotManaged(area)


def reopen_driver(
    area: str, root: str, prefix: list[str], state_dir: str, options: dict[str, Any]
) -> AreaDriver:
    """The area's driver from plain arguments (LinuxBackend.reopen): the revert guard,
    in another process, restores a checkpoint with it."""
    host = Host(Path(root), SubprocessRunner(prefix))
    return make_driver(Context(host, LinuxOptions.from_mapping(options), Path(state_dir)), area)
