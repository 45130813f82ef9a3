"""What a real device refuses (the reference APIs' 400/404 cases), enforced by the sim.

Each check sees the area as it would be after the changes and raises DeviceRefused with the
device's answer; the sim then keeps its old state, as a device would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from reconciler.engine.change import Change
from reconciler.errors import DeviceRefused
from reconciler.profiles import HardwareProfile

Check = Callable[[Any, Sequence[Change], HardwareProfile], None]


def _known_keys(what: str, keys: Any, allowed: set[str], model: str) -> None:
    for key in keys or {}:
        if str(key) not in allowed:
            raise DeviceRefused(f"404 Not Found: {model} has no {what} {key}")


def watchdog(area: Any, changes: Sequence[Change], p: HardwareProfile) -> None:
    t = area.get("timeoutSeconds")
    if t is not None and not p.watchdog_min <= int(t) <= p.watchdog_max:
        raise DeviceRefused(
            f"400 Bad Request: watchdog timeout {t} s is outside {p.watchdog_min}..{p.watchdog_max}"
        )


def gpio(area: Any, changes: Sequence[Change], p: HardwareProfile) -> None:
    pins = area.get("pins") or {}
    _known_keys("GPIO pin", pins, {str(i) for i in range(p.gpio_pins)}, p.model)
    for change in changes:
        sets_level = change.path[-1] == "level" or (
            isinstance(change.after, dict) and "level" in change.after
        )
        if len(change.path) >= 3 and sets_level:
            pin = str(change.path[2])
            if pins.get(pin, {}).get("direction") != "output":
                raise DeviceRefused(f"400 Bad Request: cannot set the level of input pin {pin}")


def leds(area: Any, changes: Sequence[Change], p: HardwareProfile) -> None:
    _known_keys("LED", area, {str(i) for i in range(p.leds)}, p.model)


def network(area: Any, changes: Sequence[Change], p: HardwareProfile) -> None:
    _known_keys("interface", area.get("interfaces"), set(p.interfaces), p.model)
    _known_keys("Wi-Fi interface", area.get("wifi"), set(p.wifi), p.model)
    _known_keys("cellular interface", area.get("cellular"), set(p.cellular), p.model)


def serial(area: Any, changes: Sequence[Change], p: HardwareProfile) -> None:
    _known_keys("serial port", area.get("ports"), {str(i) for i in p.serial_ports}, p.model)


def io(area: Any, changes: Sequence[Change], p: HardwareProfile) -> None:
    _known_keys(
        "DI channel", area.get("di"), {str(i) for i in range(1, p.digital_inputs + 1)}, p.model
    )
    _known_keys(
        "DO channel", area.get("do"), {str(i) for i in range(1, p.digital_outputs + 1)}, p.model
    )


def access(area: Any, changes: Sequence[Change], p: HardwareProfile) -> None:
    roles = {"admin"} | {r.get("name") for r in area.get("roles") or []}
    for user in area.get("users") or []:
        for role in user.get("roles") or []:
            if role not in roles:
                raise DeviceRefused(f"400 Bad Request: user {user.get('name')}: no role {role!r}")


def brightness(area: Any, changes: Sequence[Change], p: HardwareProfile) -> None:
    if p.brightness is None:
        raise DeviceRefused(f"404 Not Found: {p.model} has no adjustable brightness")
    lo, hi = p.brightness
    if not lo <= int(area) <= hi:
        raise DeviceRefused(f"400 Bad Request: brightness {area} is outside {lo}..{hi}")


def system(area: Any, changes: Sequence[Change], p: HardwareProfile) -> None:
    if "bios" in area and not p.bios_setting:
        raise DeviceRefused(f"404 Not Found: {p.model} has no BIOS configuration")
    kept = {d.get("disk") for d in area.get("encryptedStorage") or []}
    for change in changes:
        before = change.before if "encryptedStorage" in change.path else None
        if isinstance(before, list) and {d.get("disk") for d in before} - kept:
            raise DeviceRefused("400 Bad Request: disabling encrypted storage is not allowed")


def gps(area: Any, changes: Sequence[Change], p: HardwareProfile) -> None:
    if not p.gps:
        raise DeviceRefused(f"404 Not Found: {p.model} has no GPS receiver")
    if area.get("mode") == "manual" and not area.get("location"):
        raise DeviceRefused("400 Bad Request: manual gps mode needs a location")


def vpn(area: Any, changes: Sequence[Change], p: HardwareProfile) -> None:
    clients = area.get("openvpn") or []
    if len(clients) > p.openvpn_profiles:
        raise DeviceRefused(
            f"400 Bad Request: {p.model} holds at most {p.openvpn_profiles} OpenVPN profile(s)"
        )


def edge(area: Any, changes: Sequence[Change], p: HardwareProfile) -> None:
    if not p.edge_apps:
        raise DeviceRefused(f"404 Not Found: {p.model} has no app platform")


CHECKS: dict[str, Check] = {
    "watchdog": watchdog,
    "gpio": gpio,
    "leds": leds,
    "network": network,
    "serial": serial,
    "io": io,
    "access": access,
    "brightness": brightness,
    "system": system,
    "gps": gps,
    "vpn": vpn,
    "edge": edge,
}
