"""The portal's reads of what hardware a device has, beyond the peripherals: the device
list (devmgr), displays, the ETP EEPROM and the Wi-Fi networks in range.

Pure functions of `observe_all()`'s output. A backend that cannot know a fact leaves its
key out, and the read answers as the portal does for missing hardware (404, or 204 where
the reference says so).
"""

from __future__ import annotations

from typing import Any

from reconciler.api.portal import Unavailable

DEVICE_KEYS = ("class", "instancePath", "name", "vendorID", "deviceID", "status")


def devices(observed: dict[str, Any]) -> list[dict[str, str]]:
    """/platform/api/devmgr; vendorID and deviceID only where the bus has them (PCI, USB)."""
    listed = observed.get("devices")
    if not isinstance(listed, list):
        raise Unavailable("DevMgr")
    return [
        {key: str(dev[key]) for key in DEVICE_KEYS if dev.get(key) is not None}
        for dev in listed
        if isinstance(dev, dict)
    ]


def display_count(observed: dict[str, Any]) -> int:
    """/platform/api/host/display/count (0 when the backend knows of no display)."""
    return int((observed.get("host") or {}).get("displayCount") or 0)


def display_control(observed: dict[str, Any]) -> None:
    """/platform/api/control/display: returns (204) when the display can be turned on and
    off, else raises (404)."""
    if not (observed.get("host") or {}).get("displayPowerControl"):
        raise Unavailable("Control", "this device cannot turn its display on or off")


def wifi_networks(observed: dict[str, Any], uuid: str) -> list[dict[str, Any]]:
    """/platform/api/networking/wifi/networks/:uuid (uuid: the interface name)."""
    scans = observed.get("wifiNetworks")
    if not isinstance(scans, dict):
        raise Unavailable("WiFi", "this device reports no Wi-Fi scan results")
    if uuid not in scans:
        raise Unavailable("WiFi", "no such enabled Wi-Fi interface")
    return [dict(net) for net in scans[uuid]]


def _etp(observed: dict[str, Any]) -> dict[str, Any]:
    etp = observed.get("etp")
    if not isinstance(etp, dict):
        raise Unavailable("ETP")
    return etp


def etp_device(observed: dict[str, Any]) -> dict[str, str] | None:
    """/platform/api/etp/devicedata; None (the reference's 204) without an ETP."""
    try:
        etp = _etp(observed)
    except Unavailable:
        return None
    keys = ("modelName", "serialNumber", "boardVersion", "uuid", "version")
    return {key: str(etp.get(key) or "") for key in keys}


def etp_user(observed: dict[str, Any]) -> dict[str, Any]:
    """/platform/api/etp/userdata."""
    etp = _etp(observed)
    spaces = {key: str(etp.get(key) or "") for key in ("userSpace1", "userSpace2")}
    return {"data": spaces, "locked": bool(etp.get("locked"))}


def etp_lock(observed: dict[str, Any]) -> dict[str, bool]:
    """/platform/api/etp/userdata/lockstatus."""
    return {"locked": bool(_etp(observed).get("locked"))}
