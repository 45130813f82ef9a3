"""Factory defaults of a simulated device, built from its hardware profile.

They are what a device out of the box reports: default host name, every interface on
DHCP, watchdog off, all GPIO inputs, one built-in admin, a permissive default firewall,
no cloud connection. A first plan against them shows real changes.
"""

from __future__ import annotations

from typing import Any

from reconciler.engine.credentials import hash_password
from reconciler.profiles import HardwareProfile

FACTORY_ADMIN_PASSWORD = "p@ssw0rd"
"""The platform portal doc's default admin password (must be changed after login)."""


def factory_state(profile: HardwareProfile) -> dict[str, Any]:
    p = profile
    state: dict[str, Any] = {
        "system": {
            "hostname": p.default_hostname,
            "description": "",
            "timezone": "UTC",
            "ntp": ["pool.ntp.org"],
        },
        "network": {
            "interfaces": {name: {"enabled": True, "dhcp": True} for name in p.ethernet},
            "routePriority": list(p.interfaces),
            "dns": {"enabled": True},
            "wifi": {name: {"enabled": False, "mode": "client", "networks": []} for name in p.wifi},
            "cellular": {name: {"enabled": False} for name in p.cellular},
        },
        "firewall": {
            "inbound": [
                {"name": "ssh", "port": 22, "protocol": "tcp"},
                {"name": "https", "port": 443, "protocol": "tcp"},
            ],
            "forward": [],
            "snat": False,
            "hostServices": [],
        },
        "access": {
            "roles": [],
            "users": [
                {
                    "name": p.admin_user,
                    "enabled": True,
                    "roles": ["admin"],
                    "passwordHash": hash_password(FACTORY_ADMIN_PASSWORD),
                    "sshAuthorizedKeys": [],
                }
            ],
            "passwordPolicy": {"lengthMin": 8, "atLeastOneDigit": False},
            "authLock": {"enable": False, "failTimes": 5, "failWindow": 15, "lockWindow": 10},
            "sessions": {"maxCountByUser": 5, "idleTimeoutMin": 30},
            "ssh": {"enable": True, "port": 22, "passwordAuthentication": True},
        },
        "gpio": {
            "pins": {str(i): {"direction": "input", "level": "low"} for i in range(p.gpio_pins)}
        },
        "leds": {str(i): "off" for i in range(p.leds)},
        "io": {
            "di": {
                str(i): {
                    "mode": "di",
                    "autoSampling": True,
                    "pollingIntervalSec": 10,
                    "state": "off",
                }
                for i in range(1, p.digital_inputs + 1)
            },
            "do": {
                str(i): {"mode": "do", "state": "off", "initialState": "off"}
                for i in range(1, p.digital_outputs + 1)
            },
        },
        "serial": {
            "ports": {
                str(i): {
                    "mode": "rs232",
                    "baudRate": 115200,
                    "parity": "none",
                    "dataBits": 8,
                    "stopBits": 1,
                    "flowControl": "none",
                }
                for i in p.serial_ports
            }
        },
        "modbus": {},
        "cloud": {},
        "update": {
            "allowUpdate": False,
            "allowOverCellular": False,
            "snapshotBeforeUpdate": False,
        },
        "services": {"ssh": "running", "telnet": "stopped", "ntp": "running"},
    }
    if p.has_watchdog():
        state["watchdog"] = {
            "enabled": False,
            "timeoutSeconds": 60 if p.watchdog_min <= 60 <= p.watchdog_max else p.watchdog_max,
            "type": p.watchdog_type,
            "timeoutMinInSeconds": p.watchdog_min,
            "timeoutMaxInSeconds": p.watchdog_max,
        }
    if p.brightness is not None:
        state["brightness"] = (p.brightness[0] + p.brightness[1] + 1) // 2
    return state
