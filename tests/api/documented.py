"""Response examples from the platform portal reference (platform-portal-rest-api.txt),
copied as data, and a shape comparison: same keys, same kinds of values, recursively.

Where the reference disagrees with itself (/platform/api/hwmon shows "value": "50.1", its
SSE form and the per-kind routes show numbers), the numeric form is used.
"""

from __future__ import annotations

from typing import Any

READING = {"name": "CPU", "value": 50.1, "unit": "Celsius"}
CPU_INFO = {
    "cpu": 0,
    "vendorId": "GenuineIntel",
    "family": "6",
    "model": "78",
    "stepping": 3,
    "physicalId": "0",
    "coreId": "0",
    "cores": 1,
    "modelName": "Intel(R) Core(TM) i7-6600U CPU @ 2.60GHz",
    "mhz": 2600,
    "cacheSize": 4096,
    "flags": ["sse", "sse2", "..."],
    "microcode": "0xc6",
}
CPU = {"info": CPU_INFO, "usage": [0, 0, 0.9999999999990905, 0]}
MEMORY = {
    "total": 8265986048,
    "available": 7532920832,
    "used": 415899648,
    "usedPercent": 5.031458383608441,
    "free": 6488629248,
}
PARTITION = {
    "mountPoint": "C:",
    "sizeBytes": 63208157184,
    "freeBytes": 47287078912,
    "usedBytes": 15921078272,
    "usedPercent": 25.188328502685938,
    "readOnly": False,
}
GPIO = {"pin": 0, "dir": 0, "level": 0}

DOCUMENTED: dict[str, Any] = {
    "/auth/version": {"version": 1.2},
    "/auth/agentinfo": {"version": "v1.8.1"},
    "/platform/api/agentinfo": {"version": "v0.14.1"},
    "/edgehub/api/agentinfo": {"version": "v0.15.1"},
    "/platform/api/hwmon": {
        "temperature": [READING],
        "voltage": [{"name": "VCore", "value": 0.92, "unit": "Volt"}],
        "current": [{"name": "OEM0", "value": 0.54, "unit": "A"}],
        "fanspeed": [{"name": "FAN0", "value": 1234, "unit": "RPM"}],
    },
    "/platform/api/hwmon/temperatures": [{"name": "CPU", "value": 40, "unit": "Celsius"}],
    "/platform/api/hwmon/voltages": [{"name": "Vcore", "value": 0.92, "unit": "Volt"}],
    "/platform/api/hwmon/currents": [{"name": "OEM0", "value": 0.54, "unit": "A"}],
    "/platform/api/hwmon/fanspeeds": [{"name": "FAN0", "value": 1234, "unit": "RPM"}],
    "/platform/api/host/info": {
        "biosSerialNumber": "Default string",
        "biosUUID": "03000200-0400-0500-0006-000700080009",
        "biosVersion": "N/A",
        "bootCount": 22862,
        "bootTime": 1619413851,
        "deviceName": "UNO-2484G-673xAE",
        "dockerVersion": "Docker version 19.03.13, build 4484c46d9d",
        "ecVersion": "0.5",
        "hostid": "d6d6752c-a6d4-4d02-96b1-96e2d3a8d2b2",
        "hostname": "UNO-2484G-673xA",
        "imageVersion": "6.04 Build 005",
        "kernelArch": "x86_64",
        "os": "windows",
        "platform": "Microsoft Windows 10 Enterprise LTSC 2019",
        "releaseDate": "01/23/2019",
        "upTime": 851779,
    },
    "/platform/api/systemperf": {"cpu": CPU, "memory": MEMORY},
    "/platform/api/systemperf/cpu": CPU,
    "/platform/api/systemperf/memory": MEMORY,
    "/platform/api/perif/led": [True, False, True, False, True, False, True, True],
    "/platform/api/perif/led/0": True,
    "/platform/api/perif/wdt": {
        "enabled": True,
        "type": "EC Watchdog",
        "timeoutInSeconds": 15,
        "timeoutMaxInSeconds": 255,
        "timeoutMinInSeconds": 10,
    },
    "/platform/api/perif/disk": [
        {
            "name": "\\\\.\\PHYSICALDRIVE0",
            "sizeBytes": 64017354240,
            "physicalBlockSizeBytes": 0,
            "removable": False,
            "vendor": "(Standard disk drives)",
            "model": "SQF-S25M4-64G-S9C",
            "serialNumber": "XXXXXXXXXXXXX",
            "firmwareRevision": "XXXXX8",
            "mediaType": "Fixed hard disk media",
            "partitions": [PARTITION],
            "smartAttributes": [],
        }
    ],
    "/platform/api/perif/disk/partition": [PARTITION],
    "/platform/api/perif/gpio/count": {"count": 8},
    "/platform/api/perif/gpio/all": [GPIO, {"pin": 1, "dir": 1, "level": 1}],
    "/platform/api/perif/gpio/0": GPIO,
    "/platform/api/perif/gpio/0/dir": {"dir": 0},
    "/platform/api/perif/gpio/0/level": {"level": 0},
    "/platform/api/perif/brightness": {"min": 0, "max": 9, "value": 5},
    "/platform/api/networking/wifi/interfaces": [
        {
            "ifIndex": 14,
            "uuid": "{94CDC116-21A5-4419-90AF-F0626B643566}",
            "description": "802.11n USB Wireless LAN Card",
            "profiles": [
                {
                    "name": "SQA_2.4G",
                    "allUserProfile": True,
                    "groupPolicyProfile": False,
                    "perUserProfile": False,
                }
            ],
        }
    ],
    "/platform/api/service/list": [
        {
            "name": "ALG",
            "displayName": "Application Layer Gateway Service",
            "description": "Provides support for 3rd party protocol plug-ins",
            "status": "stopped",
        }
    ],
    "/platform/api/service/ssh": {"status": "running"},
    "/edgehub/api/connection": {
        "enabled": True,
        "status": "connected",
        "certRevoked": False,
        "stormDetected": False,
    },
    "/edgehub/api/conncfg": {
        "username": "",
        "password": "",
        "mqttHost": "",
        "mqttPort": 1883,
        "enableTLS": True,
        "overWebSocket": False,
        "connectionString": "",
        "mac": "AABBCCDDEEFF",
        "uuid": "123e4567-e89b-12d3-a456-426614174000",
        "skipCertVerify": False,
        "deviceTokenCredential": "",
        "caCerts": [""],
        "iothubKey": "",
        "iothubCert": "",
        "mqttKey": "",
        "mqttCert": "",
    },
    "/edgehub/api/profile": {
        "agent:version:auth-server": "v1.9.1",
        "agent:version:edgehub-agent": "v1.0.2",
        "agent:version:edgex-helper": "v0.6.1",
        "agent:version:portal-service": "v1.0.1",
        "agent:version:rest-server": "v1.0.1",
        "apphub": 2,
        "host:display:count": 1,
        "host:info": 1,
        "hwmon": 1,
        "ibmc": 0,
        "model:name": "UNO-2484G-673xAE",
        "networking:interfaces": 5,
        "os": "windows",
        "os:arch": "x86_64",
        "os:description": "Microsoft Windows 10 Enterprise LTSC 2019",
        "perif:brightness": 0,
        "perif:disk": 1,
        "perif:gpio:all": 0,
        "perif:gpio:count": 0,
        "perif:led": 0,
        "perif:wdt": 1,
        "perif:wdt:enabled": False,
        "perif:wdt:timeoutInSeconds": 60,
        "perif:wdt:timeoutMaxInSeconds": 255,
        "perif:wdt:timeoutMinInSeconds": 10,
        "perif:wdt:type": "EC",
        "processes": 194,
        "service:list": 1,
        "system:ip": "172.16.12.123",
        "system:mac": "00:0b:ab:12:34:56",
        "systemperf": 1,
    },
}

INTERFACE_CONNECTED = {
    "ifIndex": 17,
    "uuid": "{B30C1205-A9C3-4155-9E01-0AB4D5A36DB4}",
    "name": "Ethernet 4",
    "description": "Intel(R) Ethernet Connection I219-LM",
    "type": "Ethernet",
    "typeId": 6,
    "mtu": 1500,
    "connected": True,
    "isDefault": False,
    "dhcpEnabled": True,
    "hardwareAddress": "74:FE:48:05:0A:EE",
    "addresses": ["172.16.12.60/23", "fe80::4013:3d5e:69a7:460a/64"],
    "gateway": ["172.16.13.254"],
    "dns": ["172.20.1.99", "8.8.8.8"],
}
"""The SSE example's interface, less what the sim cannot know (speeds, counters, metrics)."""
INTERFACE_DISCONNECTED = {
    k: v for k, v in INTERFACE_CONNECTED.items() if k not in ("addresses", "gateway", "dns")
}
PROCESS = {
    "pid": 1,
    "ppid": 0,
    "name": "systemd",
    "numThreads": 1,
    "memUsage": 9187328,
    "cpuPercent": 0.0010817868420981225,
    "username": "root",
    "elapsedTime": 1191547,
    "path": "/lib/systemd/systemd",
    "cmdline": "/sbin/init splash",
}
TOKEN = {"code": 200, "expire": "20XX-XX-XXT14:08:33+08:00", "token": ""}
UNAUTHORIZED = {"Code": 401, "Message": ""}
GPIO_BAD_ID = {"errors": {"GPIO": "invalid parameter"}}
LED_BAD_ID = {"errors": {"LED": ""}}


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


OPEN = frozenset({"/platform/api/systemperf.memory", "/platform/api/systemperf/memory"})
"""Objects the reference shows with `"...": ...` (more fields may follow)."""


def assert_same_shape(actual: Any, documented: Any, where: str = "$") -> None:
    """Same keys at every level and the same kind of value (ints and floats are numbers)."""
    assert kind(actual) == kind(documented), f"{where}: {actual!r} is not like {documented!r}"
    if isinstance(documented, dict):
        missing = sorted(set(documented) - set(actual))
        extra = sorted(set(actual) - set(documented))
        assert not missing, f"{where}: missing keys {missing}"
        assert where in OPEN or not extra, f"{where}: keys the reference lacks: {extra}"
        for key, value in documented.items():
            assert_same_shape(actual[key], value, f"{where}.{key}")
    elif isinstance(documented, list) and documented and actual:
        for i, item in enumerate(actual):
            assert_same_shape(item, documented[min(i, len(documented) - 1)], f"{where}[{i}]")
