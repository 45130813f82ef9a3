"""The spec's areas in the portal's words: which documented GETs an area is read from, how
their bodies become the observed state (pure), and which documented writes carry a change
from the area as it is (`before`) to the area as it should be (`after`).

Parsers are pure functions of the response bodies, so they are tested against the doc's
sample bodies without any I/O; writers are generators of session calls.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from reconciler.drivers.portal.session import Call, Session

P = "/platform/api/"
Writer = Callable[[Session, dict[str, Any], Any, Any], Call]
"""(session, raw bodies, before, after) -> the writes."""


@dataclass(frozen=True)
class PortalArea:
    name: str
    label: str
    """How error sentences name the area."""
    reads: tuple[str, ...]
    parse: Callable[[dict[str, Any]], Any]
    write: Writer


def read(session: Session, area: PortalArea) -> Generator[Any, Any, tuple[dict[str, Any], Any]]:
    """(raw bodies by path, observed state) of one area."""
    raw: dict[str, Any] = {}
    for path in area.reads:
        raw[path] = yield from session.call("GET", path, area.label)
    return raw, area.parse(raw)


# --- watchdog ---------------------------------------------------------------------------


def parse_watchdog(raw: dict[str, Any]) -> dict[str, Any]:
    w = raw[P + "perif/wdt"]
    return {
        "enabled": bool(w.get("enabled")),
        "timeoutSeconds": w.get("timeoutInSeconds"),
        "type": w.get("type"),
        "timeoutMinInSeconds": w.get("timeoutMinInSeconds"),
        "timeoutMaxInSeconds": w.get("timeoutMaxInSeconds"),
    }


def write_watchdog(session: Session, raw: dict[str, Any], before: Any, after: Any) -> Call:
    what = "watchdog"
    if after.get("enabled") != before.get("enabled"):
        body = {"enabled": bool(after.get("enabled")), "seconds": after.get("timeoutSeconds")}
        yield from session.call("PUT", P + "perif/wdt", what, body)
    elif after.get("timeoutSeconds") != before.get("timeoutSeconds"):
        body = {"seconds": after.get("timeoutSeconds")}
        yield from session.call("PUT", P + "perif/wdt/timeout", what, body)


# --- gpio, leds, brightness ---------------------------------------------------------------


def parse_gpio(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "pins": {
            str(p["pin"]): {
                "direction": "output" if p.get("dir") == 0 else "input",
                "level": "high" if p.get("level") else "low",
            }
            for p in raw[P + "perif/gpio/all"]
        }
    }


def write_gpio(session: Session, raw: dict[str, Any], before: Any, after: Any) -> Call:
    old, new = before.get("pins", {}), after.get("pins", {})
    for pin in sorted(new, key=int):
        want, have = new[pin], old.get(pin, {})
        what = f"gpio pin {pin}"
        if want.get("direction") != have.get("direction"):
            body = {"dir": 0 if want["direction"] == "output" else 1}
            yield from session.call("PUT", f"{P}perif/gpio/{pin}/dir", what, body)
        if "level" in want and want != have:
            body = {"level": 1 if want["level"] == "high" else 0}
            yield from session.call("PUT", f"{P}perif/gpio/{pin}/level", what, body)


def parse_leds(raw: dict[str, Any]) -> dict[str, str]:
    return {str(i): "on" if v else "off" for i, v in enumerate(raw[P + "perif/led"])}


def write_leds(session: Session, raw: dict[str, Any], before: Any, after: Any) -> Call:
    for index in sorted(after, key=int):
        if after[index] != before.get(index):
            body = {"status": after[index] == "on"}
            yield from session.call("PUT", f"{P}perif/led/{index}", f"led {index}", body)


def parse_brightness(raw: dict[str, Any]) -> Any:
    return raw[P + "perif/brightness"].get("value")


def write_brightness(session: Session, raw: dict[str, Any], before: Any, after: Any) -> Call:
    if after != before:
        yield from session.call("PUT", P + "perif/brightness", "brightness", {"value": after})


# --- services ---------------------------------------------------------------------------


def parse_services(raw: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s.get("status", "unknown") for s in raw[P + "service/list"]}


def write_services(session: Session, raw: dict[str, Any], before: Any, after: Any) -> Call:
    for name, state in after.items():
        if state != before.get(name):
            body = {"action": "start" if state == "running" else "stop"}
            yield from session.call("PUT", f"{P}service/{name}", f"service {name}", body)


# --- network ----------------------------------------------------------------------------

IFACES, WIFI = P + "networking/interfaces", P + "networking/wifi/interfaces"
IPV4_KEYS = ("dhcp", "address", "gateway")


def _ipv4(addresses: list[str]) -> str | None:
    return next((a for a in addresses if ":" not in a), None)


def parse_network(raw: dict[str, Any]) -> dict[str, Any]:
    nics = raw[IFACES]
    interfaces = {}
    for nic in nics:
        entry = {
            "dhcp": bool(nic.get("dhcpEnabled", False)),
            "address": _ipv4(nic.get("addresses") or []),
            "gateway": next(iter(nic.get("gateway") or []), None),
            "mtu": nic.get("mtu"),
            "metric": nic.get("ipv4Metric"),
        }
        interfaces[nic["name"]] = {k: v for k, v in entry.items() if v is not None}
    order = sorted(nics, key=lambda n: (n.get("ipv4Metric") is None, n.get("ipv4Metric") or 0))
    dns: list[str] = next((n["dns"] for n in order if n.get("dns")), [])
    names = {n["ifIndex"]: n["name"] for n in nics}
    wifi = {
        names.get(w["ifIndex"], w["uuid"]): {
            "networks": [{"ssid": p["name"]} for p in w.get("profiles") or []]
        }
        for w in raw[WIFI]
    }
    out: dict[str, Any] = {"interfaces": interfaces, "routePriority": [n["name"] for n in order]}
    out["dns"] = {k: v for k, v in zip(("primary", "secondary"), dns, strict=False)}
    out["wifi"] = wifi
    return out


def _ipv4_body(iface: dict[str, Any], dns: dict[str, Any]) -> dict[str, Any]:
    net = ipaddress.IPv4Interface(iface["address"])
    return {
        "ipAddress": str(net.ip),
        "subnetMask": str(net.netmask),
        "defaultGateway": iface.get("gateway") or "",
        "primaryDNS": dns.get("primary") or "",
        "secondaryDNS": dns.get("secondary"),
    }


def write_network(session: Session, raw: dict[str, Any], before: Any, after: Any) -> Call:
    nics = {n["name"]: n for n in raw[IFACES]}
    dns_changed = after.get("dns") != before.get("dns")
    for name, want in after.get("interfaces", {}).items():
        have = before.get("interfaces", {}).get(name, {})
        ipv4_changed = any(want.get(k) != have.get(k) for k in IPV4_KEYS)
        what, path = (
            f"network interface {name}",
            f"{P}networking/ipv4config/{nics[name]['ifIndex']}",
        )
        if want.get("dhcp") and ipv4_changed:
            yield from session.call("DELETE", path, what)
        elif not want.get("dhcp") and (ipv4_changed or dns_changed):
            yield from session.call("PUT", path, what, _ipv4_body(want, after.get("dns", {})))
    if after.get("routePriority") != before.get("routePriority"):
        listed = list(after["routePriority"])
        order = listed + [n for n in before.get("routePriority", []) if n not in listed]
        body = {"ipv6": False, "sortedGUIDList": [nics[n]["uuid"] for n in order]}
        yield from session.call("POST", IFACES + "/route", "network route priority", body)


AREAS: dict[str, PortalArea] = {
    a.name: a
    for a in (
        PortalArea("network", "network", (IFACES, WIFI), parse_network, write_network),
        PortalArea("services", "services", (P + "service/list",), parse_services, write_services),
        PortalArea("gpio", "gpio", (P + "perif/gpio/all",), parse_gpio, write_gpio),
        PortalArea("leds", "leds", (P + "perif/led",), parse_leds, write_leds),
        PortalArea(
            "brightness",
            "brightness",
            (P + "perif/brightness",),
            parse_brightness,
            write_brightness,
        ),
        PortalArea("watchdog", "watchdog", (P + "perif/wdt",), parse_watchdog, write_watchdog),
    )
}
"""The areas the portal backend manages (reconciler.areas lists `portal` in each)."""

TELEMETRY = {
    "host": P + "host/info",
    "hwmon": P + "hwmon",
    "systemperf": P + "systemperf",
    "disks": P + "perif/disk",
    "cloudConnection": "/edgehub/api/connection",
}
"""Read-only telemetry keys of `observe` -> the documented GET."""
