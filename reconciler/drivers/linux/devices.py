"""Telemetry: the hardware the portal's devmgr and redundant-power reads list, from sysfs
(PCI devices with their bound drivers, mains power supplies)."""

from __future__ import annotations

from typing import Any

from reconciler.drivers.linux.facts import hardware
from reconciler.drivers.linux.host import Host, Unavailable

PCI = "/sys/bus/pci/devices"


def devices(host: Host) -> list[dict[str, Any]]:
    """PCI devices; the tree gains each device's bound driver (a link sysfs holds)."""
    tree = host.tree(PCI)
    for slot in host.listdir(PCI):
        target = host.readlink(f"{PCI}/{slot}/driver")
        if target:
            tree[f"{slot}/driver"] = target.rsplit("/", 1)[-1]
    found = hardware.pci_devices(tree)
    if not found:
        raise Unavailable(f"no PCI devices in {PCI}")
    return found


def power(host: Host) -> dict[str, int]:
    """Both power inputs' state, where the hardware reports two mains supplies."""
    state = hardware.power_inputs(host.tree("/sys/class/power_supply"))
    if state is None:
        raise Unavailable("no redundant power inputs in /sys/class/power_supply")
    return state
