"""Read-only telemetry of the simulated device.

Hardware-monitor readings (temperatures, voltages, currents, fan speeds) are simulated
around each sensor's nominal value, varying smoothly with time; host facts (CPU, memory,
disks, processes) are the real host's, through psutil. What only the device's hardware
knows is modelled from its profile and configuration: link speeds and traffic counters
of the enabled interfaces, the Wi-Fi networks in range, the device list, the power
inputs and the ETP EEPROM.
"""

from __future__ import annotations

import math
import platform
import time
import uuid
import zlib
from typing import Any

from reconciler.profiles import HardwareProfile

HWMON_KINDS = ("temperature", "voltage", "current", "fanspeed")


def hwmon(profile: HardwareProfile, now: float | None = None) -> dict[str, list[dict[str, Any]]]:
    """Readings in the platform portal's /platform/api/hwmon shape."""
    t = time.time() if now is None else now
    out: dict[str, list[dict[str, Any]]] = {kind: [] for kind in HWMON_KINDS}
    for sensor in profile.sensors:
        phase = zlib.crc32(sensor.name.encode()) % 628 / 100
        value = sensor.nominal + sensor.spread * math.sin(t / 97 + phase)
        digits = 0 if sensor.kind == "fanspeed" else 2
        out[sensor.kind].append(
            {"name": sensor.name, "value": round(value, digits), "unit": sensor.unit}
        )
    return out


def host_facts(profile: HardwareProfile) -> dict[str, Any]:
    import psutil

    vm = psutil.virtual_memory()
    display = profile.brightness is not None  # a panel whose brightness is set is a display
    return {
        "model": profile.model,
        "displayCount": 1 if display else 0,
        "displayPowerControl": display,
        "os": platform.system(),
        "osVersion": platform.release(),
        "arch": platform.machine(),
        "cpuCores": psutil.cpu_count() or 1,
        "memoryTotalBytes": vm.total,
        "bootTime": int(psutil.boot_time()),
    }


_cpu_primed = False


def _cpu_percent() -> float:
    """CPU use since the previous call; the first call in a process samples 50 ms."""
    global _cpu_primed
    import psutil

    if _cpu_primed:
        return float(psutil.cpu_percent(interval=None))
    _cpu_primed = True
    return float(psutil.cpu_percent(interval=0.05))


def system_usage() -> dict[str, Any]:
    import psutil

    vm = psutil.virtual_memory()
    return {
        "cpuPercent": _cpu_percent(),
        "memoryPercent": vm.percent,
        "uptimeSeconds": int(time.time() - psutil.boot_time()),
        "loadAverage": [round(x, 2) for x in psutil.getloadavg()],
    }


def disks() -> list[dict[str, Any]]:
    import psutil

    out = []
    for part in psutil.disk_partitions(all=False):
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except OSError:
            continue
        out.append(
            {
                "mountPoint": part.mountpoint,
                "device": part.device,
                "fsType": part.fstype,
                "sizeBytes": usage.total,
                "usedBytes": usage.used,
                "freeBytes": usage.free,
                "usedPercent": usage.percent,
                "readOnly": "ro" in part.opts.split(","),
            }
        )
    return out


LINKS = {"ethernet": ("1 Gbps", 10**9), "wifi": ("300 Mbps", 300 * 10**6)}
CELLULAR = ("150 Mbps", 150 * 10**6)


def _enabled(network: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for section in ("interfaces", "wifi", "cellular"):
        for name, conf in (network.get(section) or {}).items():
            if (conf or {}).get("enabled", True) is not False and name not in names:
                names.append(name)
    return names


def nics(profile: HardwareProfile, network: dict[str, Any], uptime: int) -> list[dict[str, Any]]:
    """Link speed and I/O counters of each enabled interface: a steady traffic of its own
    (a few kB/s, set by its name) since boot, so counters only grow."""
    out = []
    for name in _enabled(network):
        kind = "wifi" if name in profile.wifi else "ethernet"
        speed, bits = CELLULAR if name in profile.cellular else LINKS[kind]
        recv = (2000 + zlib.crc32(name.encode()) % 8000) * uptime
        sent = recv * 3 // 5
        counters = {"bytesSent": sent, "bytesRecv": recv, "packetsSent": sent // 600}
        counters["packetsRecv"] = recv // 700
        for key in ("errin", "errout", "dropin", "dropout", "fifoin", "fifoout"):
            counters[key] = 0
        entry = {"name": name, "speed": speed, "sendSpeed": bits, "recvSpeed": bits}
        out.append({**entry, "iocounters": counters})
    return out


def wifi_scan(network: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The networks each enabled Wi-Fi client sees: the ones it is configured for (the
    first one connected), in the portal's wifi/networks shape. An access point scans none."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, conf in (network.get("wifi") or {}).items():
        conf = conf or {}
        if conf.get("enabled", True) is False:
            continue
        client = conf.get("mode", "client") == "client"
        nets = (conf.get("networks") or []) if client else []
        out[name] = [_seen(i, net) for i, net in enumerate(n for n in nets if isinstance(n, dict))]
    return out


def _seen(index: int, net: dict[str, Any]) -> dict[str, Any]:
    ssid = str(net.get("ssid") or "")
    digest = zlib.crc32(ssid.encode())
    secured = bool(net.get("psk"))
    quality = 40 + digest % 60
    return {
        "alreadyConnected": index == 0,
        "authenticationAlgorithm": "WPA2-Personal" if secured else "Open",
        "channel": 1 + digest % 11,
        "cipherAlgorithm": "AES" if secured else "None",
        "connectable": True,
        "infrastructureType": "Infrastructure",
        "profileAvailable": True,
        "profileName": ssid,
        "ssid": ssid,
        "securityEnabled": secured,
        "signalQuality": quality,
        "signalStrength": quality // 2 - 100,
        "bssid": ":".join(f"{b:02X}" for b in (0x02, 0x1A, *digest.to_bytes(4, "big"))),
        "physicalTypes": ["802.11n"],
    }


def devices(profile: HardwareProfile, network: dict[str, Any]) -> list[dict[str, Any]]:
    """The device list (portal devmgr) of the model's hardware; a disabled interface's
    adapter is stopped."""
    enabled = set(_enabled(network))
    out = []
    for kind, names in (("NET", profile.ethernet), ("WLAN", profile.wifi)):
        for name in names:
            label = "Wireless LAN adapter" if kind == "WLAN" else "Ethernet controller"
            out.append(_device(kind, name, f"{label} ({name})", name in enabled))
    for name in profile.cellular:
        out.append(_device("WWAN", name, f"Cellular modem ({name})", name in enabled))
    for port in profile.serial_ports:
        out.append(_device("Ports", f"COM{port}", f"Communications Port (COM{port})", True))
    if profile.watchdog_type:
        out.append(_device("System", "WDT", f"{profile.watchdog_type} watchdog timer", True))
    if profile.gpio_pins:
        out.append(_device("System", "GPIO", f"GPIO controller ({profile.gpio_pins} pins)", True))
    return out


def _device(kind: str, ident: str, name: str, running: bool) -> dict[str, Any]:
    status = "running" if running else "stopped"
    return {"class": kind, "instancePath": f"SIM\\{kind}\\{ident}", "name": name, "status": status}


def power(profile: HardwareProfile) -> dict[str, int] | None:
    """Both inputs of a model with redundant power are fed (1 online) on the bench."""
    return {"vin1State": 1, "vin2State": 1} if profile.redundant_power else None


def etp(profile: HardwareProfile, hostname: str) -> dict[str, Any] | None:
    """The ETP EEPROM of a model that has one, as it leaves the factory: device data
    written, both user spaces empty and unlocked."""
    if not profile.etp:
        return None
    ident = zlib.crc32(f"{profile.model}/{hostname}".encode())
    return {
        "modelName": profile.model,
        "serialNumber": f"SIM{ident:010d}",
        "boardVersion": "A1",
        "uuid": str(uuid.UUID(int=ident << 64 | ident)),
        "version": "1.0",
        "userSpace1": "",
        "userSpace2": "",
        "locked": False,
    }


def hardware(profile: HardwareProfile, observed: dict[str, Any]) -> dict[str, Any]:
    """The modelled hardware readings observe_all adds (keys absent where the model has
    no such hardware)."""
    network = observed.get("network") or {}
    system = observed.get("system") or {}
    out: dict[str, Any] = {
        "networkInterfaces": nics(profile, network, int(system.get("uptimeSeconds") or 0)),
        "wifiNetworks": wifi_scan(network),
        "devices": devices(profile, network),
    }
    hostname = str(system.get("hostname") or "")
    for key, value in (("power", power(profile)), ("etp", etp(profile, hostname))):
        if value is not None:
            out[key] = value
    return out
