"""A "generic linux host" hardware profile built from what this host has, for
`--backend linux` without a model: validation then knows its real interfaces and ports."""

from __future__ import annotations

from reconciler.drivers.linux.context import Context
from reconciler.drivers.linux.gpio import GpioDriver
from reconciler.drivers.linux.leds import LedsDriver
from reconciler.drivers.linux.network import NetworkDriver
from reconciler.drivers.linux.serial import SerialDriver
from reconciler.drivers.linux.system import SystemDriver
from reconciler.drivers.linux.watchdog import WatchdogDriver
from reconciler.errors import DeviceError
from reconciler.profiles import HardwareProfile

GENERIC_MODEL = "generic-linux"


def generic_profile(ctx: Context) -> HardwareProfile:
    ethernet: list[str] = []
    wifi: list[str] = []
    cellular: list[str] = []
    try:
        links = NetworkDriver(ctx).links()
    except DeviceError:
        links = {}
    for name, link in links.items():
        if link["linkType"] == "loopback":
            continue
        if ctx.host.exists(f"/sys/class/net/{name}/wireless"):
            wifi.append(name)
        elif name.startswith("wwan"):
            cellular.append(name)
        else:
            ethernet.append(name)
    watchdog_type, watchdog_min, watchdog_max = None, 1, 65535
    try:
        dev = WatchdogDriver(ctx).device()
        watchdog_type = dev["identity"] or dev["device"]
        watchdog_min = dev["minTimeout"] or 1
        watchdog_max = dev["maxTimeout"] or 65535
    except DeviceError:
        pass
    try:
        pins = len(GpioDriver(ctx).observe()["pins"])
    except DeviceError:
        pins = 0
    try:
        leds = len(LedsDriver(ctx).leds())
    except DeviceError:
        leds = 0
    ports = tuple(int(p) for p in SerialDriver(ctx).ports())
    return HardwareProfile(
        model=GENERIC_MODEL,
        description="Generic Linux host (capabilities read from the host)",
        ethernet=tuple(ethernet),
        wifi=tuple(wifi),
        cellular=tuple(cellular),
        gpio_pins=pins,
        leds=leds,
        serial_ports=ports,
        default_hostname=SystemDriver(ctx).hostname().split(" (")[0] or "linux",
        admin_user="root",
        watchdog_type=watchdog_type,
        watchdog_min=watchdog_min,
        watchdog_max=watchdog_max,
    )
