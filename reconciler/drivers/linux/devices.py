"""Telemetry: the hardware the portal's devmgr and redundant-power reads list, from sysfs
(PCI devices with their bound drivers, mains power supplies)."""

from __future__ import annotations

from typing import Any

from reconciler.drivers.linux.facts import hardware
from reconciler.drivers.linux.host import Host, Unavailable

PCI = "/sys/bus/pci/devices"


def attributes(host: Host, base: str, names: tuple[str, ...]) -> dict[str, str]:
    """Only the named sysfs attributes of each entry below `base`, as {entry/name: text}:
    reading a whole device directory may be slow or touch hardware (a PCI `vpd`)."""
    tree: dict[str, str] = {}
    for entry in host.listdir(base):
        for name in names:
            text = host.read(f"{base}/{entry}/{name}")
            if text is not None:
                tree[f"{entry}/{name}"] = text.strip()
    return tree


def devices(host: Host) -> list[dict[str, Any]]:
    """PCI devices with the name of their bound driver (the link sysfs holds)."""
    tree = attributes(host, PCI, ("class", "vendor", "device"))
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
    state = hardware.power_inputs(attributes(host, "/sys/class/power_supply", ("type", "online")))
    if state is None:
        raise Unavailable("no redundant power inputs in /sys/class/power_supply")
    return state
