"""The portal's EdgeHub read shapes: cloud connection status, its settings (secrets
redacted) and the function profile, computed from an observed document."""

from __future__ import annotations

from typing import Any

from reconciler.api import inventory, portal
from reconciler.api.portal import Unavailable
from reconciler.engine.change import SENSITIVE
from reconciler.profiles import HardwareProfile


def _mqtt(observed: dict[str, Any]) -> dict[str, Any]:
    mqtt = (observed.get("cloud") or {}).get("mqtt")
    return dict(mqtt) if isinstance(mqtt, dict) else {}


def _tls(mqtt: dict[str, Any]) -> dict[str, Any]:
    tls = mqtt.get("tls")
    if isinstance(tls, bool):
        return {"enabled": tls}
    return dict(tls) if isinstance(tls, dict) else {}


def _hidden(value: Any) -> str:
    """A secret is shown as set or not set, never as itself (nor its fingerprint)."""
    return SENSITIVE if value else ""


def connection(observed: dict[str, Any]) -> dict[str, Any]:
    """/edgehub/api/connection."""
    mqtt = _mqtt(observed)
    enabled = bool(mqtt.get("host")) and mqtt.get("enabled", True) is not False
    return {
        "enabled": enabled,
        "status": "connected" if enabled and mqtt.get("connected") is True else "disconnected",
        "certRevoked": False,
        "stormDetected": False,
    }


def conncfg(observed: dict[str, Any]) -> dict[str, Any]:
    """/edgehub/api/conncfg: the MQTT settings; passwords and keys only as `(sensitive)`."""
    mqtt = _mqtt(observed)
    if not mqtt.get("host"):
        raise Unavailable("EdgeHub", "no cloud connection is configured")
    tls = _tls(mqtt)
    use_tls = bool(tls.get("enabled"))
    websocket = bool(mqtt.get("websocket"))
    port = mqtt.get("port") or (
        (443 if use_tls else 80) if websocket else 8883 if use_tls else 1883
    )
    return {
        "username": str(mqtt.get("username") or ""),
        "password": _hidden(mqtt.get("password")),
        "mqttHost": str(mqtt.get("host")),
        "mqttPort": int(port),
        "enableTLS": use_tls,
        "overWebSocket": websocket,
        "connectionString": "",
        "mac": "",
        "uuid": "",
        "skipCertVerify": bool(mqtt.get("insecureSkipVerify")),
        "deviceTokenCredential": "",
        "caCerts": [SENSITIVE] if tls.get("caCert") else [],
        "iothubKey": "",
        "iothubCert": "",
        "mqttKey": _hidden(tls.get("clientKey")),
        "mqttCert": _hidden(tls.get("clientCert")),
    }


AGENT_VERSIONS = ("auth-server", "edgehub-agent", "edgex-helper", "portal-service", "rest-server")


def profile(observed: dict[str, Any], hw: HardwareProfile, version: str) -> dict[str, Any]:
    """/edgehub/api/profile: which functions this device supports, and a few facts."""

    def supported(func: Any, *args: Any) -> int:
        try:
            func(observed, *args)
        except Unavailable:
            return 0
        return 1

    host = observed.get("host") or {}
    wdt = observed.get("watchdog") or {}
    ifaces = portal.interfaces(observed, hw)
    default = next((i for i in ifaces if i["isDefault"]), ifaces[0] if ifaces else None)
    out: dict[str, Any] = {f"agent:version:{name}": version for name in AGENT_VERSIONS}
    out.update(
        {
            "apphub": supported(apphub),
            "host:display:count": inventory.display_count(observed),
            "host:info": 1,
            "hwmon": supported(portal.hwmon),
            "ibmc": 0,
            "model:name": hw.model,
            "networking:interfaces": len(ifaces),
            "os": str(host.get("os") or "").lower(),
            "os:arch": str(host.get("arch") or ""),
            "os:description": f"{host.get('os') or ''} {host.get('osVersion') or ''}".strip(),
            "perif:brightness": supported(portal.brightness, hw),
            "perif:disk": supported(portal.disks),
            "perif:gpio:all": supported(portal.gpio_all),
            "perif:gpio:count": portal.gpio_count(observed)["count"],
            "perif:led": supported(portal.leds),
            "perif:wdt": 1 if wdt else 0,
            "service:list": 1,
            "system:ip": _ip(default),
            "system:mac": default["hardwareAddress"] if default else "",
            "systemperf": 1,
        }
    )
    if wdt:
        shaped = portal.watchdog(observed)
        out.update(
            {
                "perif:wdt:enabled": shaped["enabled"],
                "perif:wdt:timeoutInSeconds": shaped["timeoutInSeconds"],
                "perif:wdt:timeoutMaxInSeconds": shaped["timeoutMaxInSeconds"],
                "perif:wdt:timeoutMinInSeconds": shaped["timeoutMinInSeconds"],
                "perif:wdt:type": str(wdt.get("type") or ""),
            }
        )
    return dict(sorted(out.items()))


def _ip(iface: dict[str, Any] | None) -> str:
    for address in (iface or {}).get("addresses") or []:
        return str(address).split("/")[0]
    return ""


def macaddr(observed: dict[str, Any], hw: HardwareProfile) -> str:
    """/edgehub/api/macaddr: the MAC of the default interface (else the first one), the
    address the device registers with."""
    ifaces = portal.interfaces(observed, hw)
    default = next((i for i in ifaces if i["isDefault"]), ifaces[0] if ifaces else None)
    if default is None:
        raise Unavailable("EdgeHub", "no network interface")
    return str(default["hardwareAddress"])


APPHUB_STATES = {"running": "running", "stopped": "stopped", "disabled": "stopped"}


def apphub(observed: dict[str, Any]) -> dict[str, str]:
    """/edgehub/api/apphub/status, from the device's AppHub service (apphub*, any case)."""
    found = [
        state
        for name, state in sorted((observed.get("services") or {}).items())
        if name.lower().startswith("apphub")
    ]
    if not found:
        raise Unavailable("AppHub", "no AppHub service is installed")
    return {"status": APPHUB_STATES.get(str(found[0]), "unknown or not available")}


def edgebus(observed: dict[str, Any]) -> dict[str, Any]:
    """/edgehub/api/edgebus/status: 404, the reference's answer for a device without
    EdgeBus. No backend has an embedded broker to report on (the reconciler runs an MQTT
    client, not a broker), so there is no status to read."""
    raise Unavailable("EdgeBus", "no EdgeBus (embedded MQTT broker) on this device")
