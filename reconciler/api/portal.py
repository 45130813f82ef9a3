"""The platform portal's documented read shapes, computed from an observed document.

Pure functions of `observe_all()`'s output (and the hardware profile), so the shapes can
be tested without a server. Hardware the model lacks raises `Unavailable` (404), a bad
`:id` raises `BadParameter` (400), each naming the portal's error area (LED, GPIO, ...).
"""

from __future__ import annotations

import re
import uuid
import zlib
from typing import Any

from reconciler.profiles import HardwareProfile

NOT_AVAILABLE = "not supported or no available data"
INVALID = "invalid parameter"
HWMON_KINDS = ("temperature", "voltage", "current", "fanspeed")
IF_TYPES = {"ethernet": ("Ethernet", 6), "wifi": ("Wi-Fi", 71), "cellular": ("Cellular", 243)}


class Unavailable(LookupError):
    """The model has no such hardware, or it reports no data (portal: 404)."""

    def __init__(self, area: str, message: str = NOT_AVAILABLE) -> None:
        super().__init__(message)
        self.area = area
        self.message = message


class BadParameter(ValueError):
    """An `:id` that is not an index of this hardware (portal: 400)."""

    def __init__(self, area: str, message: str = INVALID) -> None:
        super().__init__(message)
        self.area = area
        self.message = message


def _index(raw: str, count: int, area: str) -> int:
    """A 0-based index below `count`, written as plain decimal digits."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or int(raw) >= count:
        raise BadParameter(area)
    return int(raw)


# -- hardware monitor --------------------------------------------------------------------


def hwmon(observed: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """/platform/api/hwmon: the kinds that have readings (numbers, as in the SSE form)."""
    readings = observed.get("hwmon") or {}
    out = {kind: list(readings.get(kind) or []) for kind in HWMON_KINDS}
    out = {kind: values for kind, values in out.items() if values}
    if not out:
        raise Unavailable("HWMON")
    return out


def hwmon_kind(observed: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """/platform/api/hwmon/temperatures (voltages, currents, fanspeeds)."""
    values = list((observed.get("hwmon") or {}).get(kind) or [])
    if not values:
        raise Unavailable("HWMON")
    return values


# -- host and performance ----------------------------------------------------------------


def host_info(observed: dict[str, Any], profile: HardwareProfile) -> dict[str, Any]:
    """/platform/api/host/info; facts the backend does not know read "N/A"."""
    host = observed.get("host") or {}
    system = observed.get("system") or {}
    hostname = str(host.get("hostname") or system.get("hostname") or "")
    os_name = str(host.get("os") or "").lower()
    release = str(host.get("osVersion") or "")
    return {
        "biosSerialNumber": str(host.get("biosSerialNumber") or "N/A"),
        "biosUUID": str(host.get("biosUUID") or "N/A"),
        "biosVersion": str(host.get("biosVersion") or "N/A"),
        "bootCount": int(host.get("bootCount") or 0),
        "bootTime": int(host.get("bootTime") or 0),
        "deviceName": str(host.get("model") or profile.model),
        "dockerVersion": str(host.get("dockerVersion") or "N/A"),
        "ecVersion": str(host.get("ecVersion") or "N/A"),
        "hostid": str(host.get("hostid") or uuid.uuid5(uuid.NAMESPACE_DNS, hostname or "device")),
        "hostname": hostname,
        "imageVersion": str(host.get("imageVersion") or "N/A"),
        "kernelArch": str(host.get("arch") or ""),
        "os": os_name,
        "platform": str(host.get("platform") or f"{host.get('os') or ''} {release}".strip()),
        "releaseDate": str(host.get("releaseDate") or "N/A"),
        "upTime": int(system.get("uptimeSeconds") or 0),
    }


# -- peripherals -------------------------------------------------------------------------


def leds(observed: dict[str, Any]) -> list[bool]:
    """/platform/api/perif/led: logical levels by index (true = on)."""
    states = observed.get("leds") or {}
    if not states:
        raise Unavailable("LED")
    return [states.get(str(i)) == "on" for i in range(len(states))]


def led(observed: dict[str, Any], raw_id: str) -> bool:
    values = leds(observed)
    return values[_index(raw_id, len(values), "LED")]


def watchdog(observed: dict[str, Any]) -> dict[str, Any]:
    """/platform/api/perif/wdt."""
    wdt = observed.get("watchdog")
    if not wdt:
        raise Unavailable("WDT")
    kind = str(wdt.get("type") or "")
    return {
        "enabled": bool(wdt.get("enabled")),
        "type": kind if kind.endswith("Watchdog") else f"{kind} Watchdog".strip(),
        "timeoutInSeconds": int(wdt.get("timeoutSeconds") or 0),
        "timeoutMaxInSeconds": int(wdt.get("timeoutMaxInSeconds") or 0),
        "timeoutMinInSeconds": int(wdt.get("timeoutMinInSeconds") or 0),
    }


MEDIA = {False: "Fixed hard disk media", True: "Removable media"}
_PARTITION = re.compile(r"^(/dev/(?:nvme\d+n\d+|mmcblk\d+|[a-z]+?))(?:p?\d+)?$")


def _partition(part: dict[str, Any]) -> dict[str, Any]:
    return {
        "mountPoint": str(part.get("mountPoint") or ""),
        "sizeBytes": int(part.get("sizeBytes") or 0),
        "freeBytes": int(part.get("freeBytes") or 0),
        "usedBytes": int(part.get("usedBytes") or 0),
        "usedPercent": float(part.get("usedPercent") or 0.0),
        "readOnly": bool(part.get("readOnly")),
    }


def _parts(observed: dict[str, Any]) -> list[dict[str, Any]]:
    """Partition rows: the sim's and the portal backend's as they are; a backend that
    reports whole disks with their partitions (linux) flattened to the same rows."""
    out: list[dict[str, Any]] = []
    for entry in observed.get("disks") or []:
        if not isinstance(entry.get("partitions"), list):
            out.append(entry)
            continue
        disk = {k: v for k, v in entry.items() if k not in ("partitions", "sizeBytes")}
        out += [{**disk, **part, "disk": entry.get("name")} for part in entry["partitions"]]
    return out


def disks(observed: dict[str, Any]) -> list[dict[str, Any]]:
    """/platform/api/perif/disk: partitions grouped by the disk they are on."""
    parts = _parts(observed)
    if not parts:
        raise Unavailable("Disk")
    grouped: dict[str, dict[str, Any]] = {}
    counted: set[str] = set()
    for part in parts:
        device = str(part.get("device") or "")
        match = _PARTITION.match(device)
        name = str(part.get("disk") or (match.group(1) if match else device))
        disk = grouped.setdefault(
            name,
            {
                "name": name,
                "sizeBytes": 0,
                "physicalBlockSizeBytes": int(part.get("physicalBlockSizeBytes") or 0),
                "removable": bool(part.get("removable")),
                "vendor": str(part.get("vendor") or ""),
                "model": str(part.get("model") or ""),
                "serialNumber": str(part.get("serialNumber") or ""),
                "firmwareRevision": str(part.get("firmwareRevision") or ""),
                "mediaType": MEDIA[bool(part.get("removable"))],
                "partitions": [],
                "smartAttributes": list(part.get("smartAttributes") or []),
            },
        )
        disk["partitions"].append(_partition(part))
        if device not in counted:  # a partition mounted twice (bind mounts) counts once
            counted.add(device)
            disk["sizeBytes"] += int(part.get("sizeBytes") or 0)
    return list(grouped.values())


def partitions(observed: dict[str, Any]) -> list[dict[str, Any]]:
    """/platform/api/perif/disk/partition."""
    parts = _parts(observed)
    if not parts:
        raise Unavailable("Disk")
    return [_partition(p) for p in parts]


def redundant_power(observed: dict[str, Any]) -> dict[str, int]:
    """/platform/api/perif/redundant_power (1 online, 0 offline), when the model has it."""
    power = observed.get("power")
    if not isinstance(power, dict) or "vin1State" not in power:
        raise Unavailable("Power")
    return {"vin1State": int(power["vin1State"]), "vin2State": int(power.get("vin2State") or 0)}


def _pins(observed: dict[str, Any]) -> dict[str, Any]:
    return dict((observed.get("gpio") or {}).get("pins") or {})


def gpio_count(observed: dict[str, Any]) -> dict[str, int]:
    """/platform/api/perif/gpio/count (0 on a model without GPIO)."""
    return {"count": len(_pins(observed))}


def _pin(index: int, pin: dict[str, Any]) -> dict[str, int]:
    return {
        "pin": index,
        "dir": 0 if pin.get("direction") == "output" else 1,
        "level": 1 if pin.get("level") == "high" else 0,
    }


def gpio_all(observed: dict[str, Any]) -> list[dict[str, int]]:
    """/platform/api/perif/gpio/all: dir 0 output, 1 input; level 0 low, 1 high."""
    pins = _pins(observed)
    if not pins:
        raise Unavailable("GPIO")
    return [_pin(i, pins.get(str(i)) or {}) for i in range(len(pins))]


def gpio(observed: dict[str, Any], raw_id: str) -> dict[str, int]:
    """/platform/api/perif/gpio/:id (404 without GPIO before 400 for a bad id)."""
    pins = gpio_all(observed)
    return pins[_index(raw_id, len(pins), "GPIO")]


def brightness(observed: dict[str, Any], profile: HardwareProfile) -> dict[str, int]:
    """/platform/api/perif/brightness."""
    value = observed.get("brightness")
    if profile.brightness is None or value is None:
        raise Unavailable("Brightness")
    low, high = profile.brightness
    return {"min": low, "max": high, "value": int(value)}


# -- networking --------------------------------------------------------------------------


def _mac(profile: HardwareProfile, hostname: str, name: str) -> str:
    """A stable, locally administered MAC for a backend that reports none (the sim)."""
    digest = zlib.crc32(f"{profile.model}/{hostname}/{name}".encode()).to_bytes(4, "big")
    return ":".join(f"{b:02X}" for b in (0x02, 0x00, *digest))


def _kind(profile: HardwareProfile, name: str) -> str:
    if name in profile.wifi:
        return "wifi"
    if name in profile.cellular:
        return "cellular"
    return "ethernet"


def interfaces(observed: dict[str, Any], profile: HardwareProfile) -> list[dict[str, Any]]:
    """/platform/api/networking/interfaces, in the model's interface order."""
    network = observed.get("network") or {}
    hostname = str((observed.get("system") or {}).get("hostname") or "")
    configs: dict[str, dict[str, Any]] = {}
    for name, conf in (network.get("interfaces") or {}).items():
        configs[name] = dict(conf or {})
    for section in ("wifi", "cellular"):
        for name, conf in (network.get(section) or {}).items():
            configs.setdefault(name, dict(conf or {}))
    names = [n for n in profile.interfaces if n in configs]
    names += sorted(n for n in configs if n not in names)
    dns_conf = network.get("dns") or {}
    dns = [dns_conf[k] for k in ("primary", "secondary") if dns_conf.get(k)]
    enabled = [n for n in names if configs[n].get("enabled", True) is not False]
    default = next((n for n in network.get("routePriority") or [] if n in enabled), None)
    links = {str(i.get("name")): i for i in observed.get("networkInterfaces") or []}
    out: list[dict[str, Any]] = []
    for index, name in enumerate(names, start=2):
        conf = configs[name]
        type_name, type_id = IF_TYPES[_kind(profile, name)]
        connected = name in enabled
        entry: dict[str, Any] = {
            "ifIndex": index,
            "uuid": name,
            "name": name,
            "description": str(conf.get("description") or ""),
            "type": type_name,
            "typeId": type_id,
            "mtu": int(conf.get("mtu") or 1500),
            "connected": connected,
            "isDefault": name == default,
            "dhcpEnabled": bool(conf.get("dhcp", False)),
            "hardwareAddress": str(conf.get("mac") or _mac(profile, hostname, name)),
        }
        if connected:
            entry["addresses"] = [conf["address"]] if conf.get("address") else []
            entry["gateway"] = [conf["gateway"]] if conf.get("gateway") else []
            entry["dns"] = dns
            entry.update(_link(links.get(name) or {}, index))
        out.append(entry)
    return out


def _link(link: dict[str, Any], index: int) -> dict[str, Any]:
    """Link speed and I/O counters of a connected interface, where the backend reads them."""
    out: dict[str, Any] = {k: link[k] for k in ("speed", "sendSpeed", "recvSpeed") if k in link}
    if isinstance(link.get("iocounters"), dict):
        out["iocounters"] = {**link["iocounters"], "ifindex": index}
    return out


def wifi_interfaces(observed: dict[str, Any], profile: HardwareProfile) -> list[dict[str, Any]]:
    """/platform/api/networking/wifi/interfaces: one profile per configured network."""
    wifi = (observed.get("network") or {}).get("wifi") or {}
    by_name = {e["name"]: e for e in interfaces(observed, profile)}
    out = []
    for name in [n for n in profile.wifi if n in wifi] + sorted(set(wifi) - set(profile.wifi)):
        nets = (wifi.get(name) or {}).get("networks") or []
        out.append(
            {
                "ifIndex": by_name[name]["ifIndex"] if name in by_name else 0,
                "uuid": name,
                "description": f"{name} ({(wifi.get(name) or {}).get('mode') or 'client'})",
                "profiles": [
                    {
                        "name": str(net.get("ssid") or ""),
                        "allUserProfile": True,
                        "groupPolicyProfile": False,
                        "perUserProfile": False,
                    }
                    for net in nets
                    if isinstance(net, dict)
                ],
            }
        )
    return out


# -- services ----------------------------------------------------------------------------

SERVICE_STATES = ("running", "stopped", "disabled", "unknown")


def services(observed: dict[str, Any]) -> list[dict[str, str]]:
    """/platform/api/service/list."""
    out = []
    for name, state in sorted((observed.get("services") or {}).items()):
        out.append(
            {
                "name": name,
                "displayName": name,
                "description": "",
                "status": state if state in SERVICE_STATES else "unknown",
            }
        )
    return out


def service(observed: dict[str, Any], name: str) -> dict[str, str]:
    """/platform/api/service/:name; a service the device does not have is "unknown"."""
    state = (observed.get("services") or {}).get(name)
    return {"status": state if state in SERVICE_STATES else "unknown"}
