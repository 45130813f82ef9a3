"""Factory defaults of a simulated device, built from its hardware profile.

They are what a device out of the box reports: default host name, every interface on
DHCP, watchdog off, all GPIO inputs, one built-in admin, a permissive default firewall,
no cloud connection. A first plan against them shows real changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reconciler.areas import implemented_by
from reconciler.engine.credentials import hash_password
from reconciler.profiles import HardwareProfile

FACTORY_ADMIN_PASSWORD = "p@ssw0rd"
"""The platform portal doc's default admin password (must be changed after login)."""


def _system(p: HardwareProfile) -> Any:
    return {
        "hostname": p.default_hostname,
        "description": "",
        "timezone": "UTC",
        "ntp": ["pool.ntp.org"],
        **_system_services(p),
    }


def _system_services(p: HardwareProfile) -> dict[str, Any]:
    """The gateway doc's system-group settings at their documented defaults."""
    out: dict[str, Any] = {
        "banner": {"enable": True, "enableDefaultText": True, "userText": ""},
        "systemLog": {
            "desiredDiskCacheSizeMB": 100,
            "enableTimeToLive": False,
            "timeToLiveDay": 7,
            "targetDiskName": "System",
        },
        "auditLog": {
            "desiredDiskCacheSizeMB": 100,
            "enableTimeToLive": False,
            "reachThresholdPolicy": "rotate",
            "timeToLiveDay": 7,
            "alertThreshold": 80,
        },
        "serialConsole": {"enable": True},
        "discovery": {"enable": True},
        "encryptedStorage": [],
    }
    if p.bios_setting:
        out["bios"] = {"enable": False}
    return out


def _network(p: HardwareProfile) -> Any:
    return {
        "interfaces": {name: {"enabled": True, "dhcp": True} for name in p.ethernet},
        "routePriority": list(p.interfaces),
        "dns": {"enabled": True},
        "wifi": {name: {"enabled": False, "mode": "client", "networks": []} for name in p.wifi},
        "cellular": {name: {"enabled": False} for name in p.cellular},
    }


def _firewall(p: HardwareProfile) -> Any:
    return {
        "inbound": [
            {"name": "ssh", "port": 22, "protocol": "tcp"},
            {"name": "https", "port": 443, "protocol": "tcp"},
        ],
        "forward": [],
        "snat": False,
        "hostServices": [],
    }


def _access(p: HardwareProfile) -> Any:
    admin = {
        "name": p.admin_user,
        "enabled": True,
        "roles": ["admin"],
        "passwordHash": hash_password(FACTORY_ADMIN_PASSWORD),
        "sshAuthorizedKeys": [],
    }
    return {
        "roles": [],
        "users": [admin],
        "passwordPolicy": {"lengthMin": 8, "atLeastOneDigit": False},
        "authLock": {"enable": False, "failTimes": 5, "failWindow": 15, "lockWindow": 10},
        "sessions": {"maxCountByUser": 5, "idleTimeoutMin": 30},
        "ssh": {"enable": True, "port": 22, "passwordAuthentication": True},
    }


def _io(p: HardwareProfile) -> Any:
    di = {"mode": "di", "autoSampling": True, "pollingIntervalSec": 10, "state": "off"}
    do = {"mode": "do", "state": "off", "initialState": "off"}
    return {
        "di": {str(i): dict(di) for i in range(1, p.digital_inputs + 1)},
        "do": {str(i): dict(do) for i in range(1, p.digital_outputs + 1)},
    }


def _serial(p: HardwareProfile) -> Any:
    port = {
        "mode": "rs232",
        "baudRate": 115200,
        "parity": "none",
        "dataBits": 8,
        "stopBits": 1,
        "flowControl": "none",
    }
    return {"ports": {str(i): dict(port) for i in p.serial_ports}}


def _watchdog(p: HardwareProfile) -> Any:
    if not p.has_watchdog():
        return None
    return {
        "enabled": False,
        "timeoutSeconds": 60 if p.watchdog_min <= 60 <= p.watchdog_max else p.watchdog_max,
        "type": p.watchdog_type,
        "timeoutMinInSeconds": p.watchdog_min,
        "timeoutMaxInSeconds": p.watchdog_max,
    }


def _brightness(p: HardwareProfile) -> Any:
    return None if p.brightness is None else (p.brightness[0] + p.brightness[1] + 1) // 2


FACTORY: dict[str, Callable[[HardwareProfile], Any]] = {
    "system": _system,
    "access": _access,
    "network": _network,
    "firewall": _firewall,
    "files": lambda p: [],
    "services": lambda p: {"ssh": "running", "telnet": "stopped", "ntp": "running"},
    "serial": _serial,
    "io": _io,
    "gpio": lambda p: {
        "pins": {str(i): {"direction": "input", "level": "low"} for i in range(p.gpio_pins)}
    },
    "leds": lambda p: {str(i): "off" for i in range(p.leds)},
    "brightness": _brightness,
    "watchdog": _watchdog,
    "modbus": lambda p: {},
    "cloud": lambda p: {},
    "update": lambda p: {
        "allowUpdate": False,
        "allowOverCellular": False,
        "snapshotBeforeUpdate": False,
    },
    "gps": lambda p: {"mode": "auto"} if p.gps else None,
    "vpn": lambda p: {"openvpn": []} if p.openvpn_profiles else None,
    "edge": lambda p: {"functions": [], "serviceAccounts": []} if p.edge_apps else None,
    "operations": lambda p: [],
}
"""Out-of-the-box state by area (reconciler.areas); None: the model lacks the area."""


def factory_state(profile: HardwareProfile) -> dict[str, Any]:
    state = {area: FACTORY[area](profile) for area in implemented_by("sim")}
    return {area: value for area, value in state.items() if value is not None}
