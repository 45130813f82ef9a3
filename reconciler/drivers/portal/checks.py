"""Plan-time checks against what the unit itself reports (pure): an area it lacks, a value
outside its own ranges, a setting the documented API cannot write. Each problem is one
sentence; a plan with any is refused before the first write."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from reconciler.areas import implemented_by
from reconciler.drivers.portal.mapping import IPV4_KEYS


def plan_problems(desired: Mapping[str, Any], observed: Mapping[str, Any]) -> list[str]:
    return list(_problems(desired, observed))


def _problems(desired: Mapping[str, Any], observed: Mapping[str, Any]) -> Iterator[str]:
    unavailable = observed.get("unavailable", {})
    managed = implemented_by("portal")
    for area in desired:
        if area not in managed:
            yield f"the spec declares {area}, which the portal backend does not manage"
        elif area in unavailable:
            reason = unavailable[area]
            yield f"the spec declares {area}, but the device reports it unavailable ({reason})"
    limits = observed.get("limits", {})
    if "watchdog" in observed and "watchdog" in desired:
        yield from _watchdog(desired["watchdog"], observed["watchdog"])
    if "brightness" in desired and "brightness" in limits:
        low, high = limits["brightness"]
        if not low <= desired["brightness"] <= high:
            yield f"brightness {desired['brightness']} is outside the device's range {low}..{high}"
    for area, count_key, items in (
        ("gpio", "gpioPins", (desired.get("gpio") or {}).get("pins", {})),
        ("leds", "leds", desired.get("leds") or {}),
    ):
        count = limits.get(count_key)
        for index in items if count is not None else ():
            if not 0 <= int(index) < count:
                yield f"{area} {index} does not exist: the device has {count} (0..{count - 1})"
    if "network" in desired and "network" in observed:
        yield from _network(desired["network"], observed["network"])
    for name in desired.get("services") or {}:
        if "services" in observed and name not in observed["services"]:
            yield f"service {name} does not exist on the device"


def _watchdog(want: Mapping[str, Any], have: Mapping[str, Any]) -> Iterator[str]:
    seconds = want.get("timeoutSeconds")
    low, high = have.get("timeoutMinInSeconds"), have.get("timeoutMaxInSeconds")
    if seconds is not None and low is not None and high is not None and not low <= seconds <= high:
        yield (
            f"watchdog timeoutSeconds {seconds} is outside the device's range "
            f"{low}..{high} s (timeoutMinInSeconds..timeoutMaxInSeconds)"
        )


def _network(want: Mapping[str, Any], have: Mapping[str, Any]) -> Iterator[str]:
    for key in set(want) - {"interfaces", "routePriority", "dns", "wifi"}:
        if want[key] != have.get(key):
            yield f"the portal API cannot set network.{key}"
    nics = have.get("interfaces", {})
    for name, iface in (want.get("interfaces") or {}).items():
        if name not in nics:
            yield f"network interface {name} does not exist on the device"
            continue
        for key, value in iface.items():
            if key not in IPV4_KEYS and value != nics[name].get(key):
                yield f"the portal API cannot set network.interfaces.{name}.{key}"
        if iface.get("dhcp") is False and not iface.get("address"):
            yield f"network interface {name}: a static setting needs an address"
    order = want.get("routePriority")
    if order is not None and sorted(order) != sorted(nics):
        yield (
            "network.routePriority must list every interface of the device exactly once "
            f"({', '.join(nics)}): the portal sets the whole order"
        )
    for key in set(want.get("dns") or {}) - {"primary", "secondary"}:
        if want["dns"][key] != have.get("dns", {}).get(key):
            yield f"the portal API cannot set network.dns.{key}"
    if want.get("wifi"):
        yield (
            "the portal API cannot set network.wifi: it reads Wi-Fi profiles and deletes them, "
            "but cannot write their keys or security, so a Wi-Fi spec could never converge"
        )
