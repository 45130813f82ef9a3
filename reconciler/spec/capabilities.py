"""Checks that need the hardware profile or the whole document, located by YAML path."""

from collections.abc import Iterator
from typing import Any

from reconciler.profiles import HardwareProfile, get_profile
from reconciler.spec import (
    access,
    cloud,
    edge,
    files,
    firewall,
    gpio,
    gps,
    io,
    leds,
    modbus,
    network,
    platform,
    serial,
    update,
    vpn,
    watchdog,
)
from reconciler.spec.base import Loc
from reconciler.spec.device import DeviceSpec


def duplicate_names(data: Any, loc: Loc = ()) -> Iterator[tuple[Loc, str]]:
    """Lists of named items must not repeat a name (they are merged and diffed by name)."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from duplicate_names(value, (*loc, key))
    elif isinstance(data, list):
        seen: set[Any] = set()
        for i, item in enumerate(data):
            if isinstance(item, dict) and "name" in item:
                if item["name"] in seen:
                    yield (*loc, i, "name"), f"duplicate name {item['name']!r}"
                seen.add(item["name"])
            yield from duplicate_names(item, (*loc, i))


def _area_problems(spec: DeviceSpec, profile: HardwareProfile) -> Iterator[tuple[Loc, str]]:
    s = spec.spec
    checks: list[tuple[str, Any, Any]] = [
        ("network", s.network, network.capability_problems),
        ("firewall", s.firewall, firewall.capability_problems),
        ("access", s.access, access.capability_problems),
        ("watchdog", s.watchdog, watchdog.capability_problems),
        ("gpio", s.gpio, gpio.capability_problems),
        ("leds", s.leds, leds.capability_problems),
        ("io", s.io, io.capability_problems),
        ("serial", s.serial, serial.capability_problems),
        ("modbus", s.modbus, modbus.capability_problems),
        ("serial", s.serial, lambda v, _p: serial.document_problems(v)),
        ("modbus", s.modbus, lambda v, _p: modbus.document_problems(v)),
        ("cloud", s.cloud, lambda v, _p: cloud.document_problems(v)),
        ("files", s.files, files.capability_problems),
        ("update", s.update, update.capability_problems),
        ("gps", s.gps, gps.capability_problems),
        ("vpn", s.vpn, vpn.capability_problems),
        ("edge", s.edge, edge.capability_problems),
        (
            "system",
            s.system,
            lambda v, p: platform.capability_problems(v.bios, v.encrypted_storage, p),
        ),
    ]
    for area, value, check in checks:
        if value is not None:
            for loc, message in check(value, profile):
                yield ("spec", area, *loc), message
    if s.brightness is not None:
        if profile.brightness is None:
            yield ("spec", "brightness"), f"model {profile.model} has no adjustable brightness"
        elif not profile.brightness[0] <= s.brightness <= profile.brightness[1]:
            lo, hi = profile.brightness
            yield (
                ("spec", "brightness"),
                f"{s.brightness} is outside {profile.model}'s range {lo}..{hi}",
            )


def capability_problems(spec: DeviceSpec) -> list[tuple[Loc, str]]:
    """Everything wrong with `spec` that the schema alone cannot see."""
    profile = get_profile(spec.metadata.model)
    data = spec.model_dump(exclude_unset=True, by_alias=True)
    problems = list(duplicate_names(data))
    problems.extend(_area_problems(spec, profile))
    return problems
