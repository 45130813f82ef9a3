"""An emulated platform-portal unit: a small ASGI app speaking the documented REST API
(../shared/reference/platform-portal-rest-api.txt) over a simulated device, for tests, the
bench and lab demos. It keeps the documented shapes, status codes, error bodies and token
expiry, and records every write so a test can prove that a plan wrote nothing.

One app can hold many devices: `/d/<id>/...` selects one (agentless fleet tests), and the
bare paths select the device with id "". Run one on loopback with
`python -m reconciler.drivers.portal.emulator --port 8443 [--devices N]`.
"""

from __future__ import annotations

import base64
import copy
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

Handler = Callable[[Request, "EmulatedDevice"], Awaitable[Response]]


def _interfaces() -> list[dict[str, Any]]:
    out = []
    for i, (name, kind) in enumerate((("eth0", "Ethernet"), ("eth1", "Ethernet"))):
        out.append(
            {
                "ifIndex": i + 2,
                "uuid": f"{{0000000{i}-A9C3-4155-9E01-0AB4D5A36DB4}}",
                "name": name,
                "description": "Intel(R) Ethernet Connection I219-LM",
                "type": kind,
                "typeId": 6,
                "mtu": 1500,
                "connected": True,
                "isDefault": i == 0,
                "dhcpEnabled": True,
                "hardwareAddress": f"74:FE:48:05:0A:E{i}",
                "addresses": [f"10.0.{i}.50/24", "fe80::4013:3d5e:69a7:460a/64"],
                "gateway": [f"10.0.{i}.1"],
                "dns": [f"10.0.{i}.1"],
                "ipv4Metric": 10 * (i + 1),
            }
        )
    out.append(
        {
            "ifIndex": 14,
            "uuid": "{94CDC116-21A5-4419-90AF-F0626B643566}",
            "name": "wlan0",
            "description": "802.11n USB Wireless LAN Card",
            "type": "Wi-Fi",
            "typeId": 71,
            "mtu": 1500,
            "connected": False,
            "isDefault": False,
            "dhcpEnabled": True,
            "hardwareAddress": "74:FE:48:05:0A:F0",
            "addresses": [],
            "gateway": [],
            "dns": [],
            "ipv4Metric": 50,
        }
    )
    return out


@dataclass
class EmulatedDevice:
    """The unit's state and the emulator's record of what was asked of it."""

    users: dict[int, tuple[str, str]] = field(
        default_factory=lambda: {0: ("operator", "os-pass-1"), 2: ("admin", "p@ssw0rd")}
    )
    token_seconds: float = 600.0
    device_name: str = "UNO-2484G-673xAE"
    hostname: str = "uno-2484g"
    unsupported: set[str] = field(default_factory=set)
    """Path prefixes (after /platform/api/) answered 404, e.g. "perif/brightness"."""
    refuse: dict[str, tuple[str, str]] = field(default_factory=dict)
    """"PUT perif/wdt" -> (label, words): answer that write 422 `{"errors": {label: words}}`."""
    ping_needs: tuple[str, str] | None = None
    """(interface, address): /auth/ping answers only while it has that address, standing in
    for a unit cut off on its management address (the API stays usable for the restore)."""
    fail_next: int = 0
    """Answer this many next requests 503 (transient failure)."""
    wdt: dict[str, Any] = field(
        default_factory=lambda: {
            "enabled": False,
            "type": "EC Watchdog",
            "timeoutInSeconds": 60,
            "timeoutMaxInSeconds": 255,
            "timeoutMinInSeconds": 10,
        }
    )
    gpio: list[dict[str, int]] = field(
        default_factory=lambda: [{"pin": i, "dir": 1, "level": 0} for i in range(8)]
    )
    leds: list[bool] = field(default_factory=lambda: [False] * 8)
    brightness: dict[str, int] = field(default_factory=lambda: {"min": 0, "max": 9, "value": 5})
    interfaces: list[dict[str, Any]] = field(default_factory=_interfaces)
    wifi_profiles: list[str] = field(default_factory=lambda: ["plant-a", "old-guest"])
    services: dict[str, str] = field(
        default_factory=lambda: {"ssh": "running", "telnet": "running", "collector": "stopped"}
    )
    conncfg: dict[str, Any] = field(
        default_factory=lambda: {
            "username": "device-user",
            "password": "cloud-Secret-Value-12",
            "mqttHost": "broker.example.net",
            "mqttPort": 8883,
            "enableTLS": True,
            "overWebSocket": False,
            "skipCertVerify": False,
        }
    )
    expire_tokens_after_writes: int | None = None
    """Expire every token once this many writes were made (token expiry mid-apply)."""
    leases: dict[int, list[str]] = field(default_factory=dict)
    """DHCP addresses of interfaces set static, given back when DHCP is enabled again."""
    tokens: dict[str, float] = field(default_factory=dict)
    issued: list[str] = field(default_factory=list)
    """Every token handed out (tests check none leaks)."""
    writes: list[str] = field(default_factory=list)
    requests: int = 0

    def expire_tokens(self) -> None:
        """Every issued token stops working (as if they all reached their expiry)."""
        self.tokens.clear()

    def snapshot(self) -> dict[str, Any]:
        """The device's configuration, for tests comparing it with `observe`."""
        return copy.deepcopy(
            {
                "wdt": self.wdt,
                "gpio": self.gpio,
                "leds": self.leds,
                "brightness": self.brightness,
                "interfaces": self.interfaces,
                "wifi": self.wifi_profiles,
                "services": self.services,
            }
        )


def _errors(status: int, area: str, words: str) -> JSONResponse:
    return JSONResponse({"errors": {area: words}}, status_code=status)


def _unauthorized() -> JSONResponse:
    return JSONResponse({"Code": 401, "Message": "token is invalid or expired"}, status_code=401)


def _issue(dev: EmulatedDevice) -> JSONResponse:
    token = secrets.token_urlsafe(24)
    dev.tokens[token] = time.monotonic() + dev.token_seconds
    dev.issued.append(token)
    expire = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + dev.token_seconds))
    response = JSONResponse({"code": 200, "expire": expire, "token": token})
    response.set_cookie("jwt", token, secure=True, httponly=True)
    return response


def _account(request: Request) -> int:
    try:
        return int(request.query_params.get("m", "0"))
    except ValueError:
        return -1


async def auth_token(request: Request, dev: EmulatedDevice) -> Response:
    header = request.headers.get("authorization", "")
    try:
        user, _, password = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
    except ValueError:
        return JSONResponse({"Code": 401, "Message": "login failed"}, status_code=401)
    if dev.users.get(_account(request)) != (user, password):
        return JSONResponse({"Code": 401, "Message": "login failed"}, status_code=401)
    return _issue(dev)


async def auth_login(request: Request, dev: EmulatedDevice) -> Response:
    body = await _json(request)
    pair = (body.get("username"), body.get("password")) if isinstance(body, dict) else None
    if dev.users.get(_account(request)) != pair:
        return JSONResponse({"Code": 401, "Message": "login failed"}, status_code=401)
    return _issue(dev)


async def admin_password(request: Request, dev: EmulatedDevice) -> Response:
    body = await _json(request)
    user, current = dev.users[2]
    if not isinstance(body, dict) or not isinstance(body.get("new"), str) or not body["new"]:
        return _errors(422, "validator", "new password is required")
    if body.get("old") != current:
        return JSONResponse({"code": 400, "message": "old password is wrong"}, status_code=400)
    dev.users[2] = (user, body["new"])
    return Response(status_code=200)


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError:
        return None


# --- reads ------------------------------------------------------------------------------


async def get_wdt(request: Request, dev: EmulatedDevice) -> Response:
    return JSONResponse(dev.wdt)


async def get_gpio_all(request: Request, dev: EmulatedDevice) -> Response:
    return JSONResponse(dev.gpio)


async def get_gpio_count(request: Request, dev: EmulatedDevice) -> Response:
    return JSONResponse({"count": len(dev.gpio)})


async def get_leds(request: Request, dev: EmulatedDevice) -> Response:
    return JSONResponse(dev.leds)


async def get_brightness(request: Request, dev: EmulatedDevice) -> Response:
    return JSONResponse(dev.brightness)


async def get_interfaces(request: Request, dev: EmulatedDevice) -> Response:
    return JSONResponse(dev.interfaces)


async def get_wifi(request: Request, dev: EmulatedDevice) -> Response:
    wifi = [i for i in dev.interfaces if i["type"] == "Wi-Fi"]
    return JSONResponse(
        [
            {
                "ifIndex": i["ifIndex"],
                "uuid": i["uuid"],
                "description": i["description"],
                "profiles": [
                    {"name": p, "allUserProfile": True, "groupPolicyProfile": False}
                    for p in dev.wifi_profiles
                ],
            }
            for i in wifi
        ]
    )


async def get_services(request: Request, dev: EmulatedDevice) -> Response:
    return JSONResponse(
        [
            {"name": n, "displayName": n, "description": "", "status": s}
            for n, s in dev.services.items()
        ]
    )


async def get_service(request: Request, dev: EmulatedDevice) -> Response:
    name = request.path_params["name"]
    if name not in dev.services:
        return _errors(422, "Service", f"service {name} does not exist")
    return JSONResponse({"status": dev.services[name]})


async def get_host(request: Request, dev: EmulatedDevice) -> Response:
    return JSONResponse(
        {
            "biosSerialNumber": "Default string",
            "biosVersion": "N/A",
            "bootCount": 22862,
            "bootTime": 1619413851,
            "deviceName": dev.device_name,
            "ecVersion": "0.5",
            "hostname": dev.hostname,
            "imageVersion": "6.04 Build 005",
            "kernelArch": "x86_64",
            "os": "linux",
            "platform": "debian 12",
            "upTime": 851779,
        }
    )


async def get_hwmon(request: Request, dev: EmulatedDevice) -> Response:
    return JSONResponse(
        {
            "temperature": [{"name": "CPU", "value": "50.1", "unit": "Celsius"}],
            "voltage": [{"name": "12V", "value": "11.86", "unit": "Volt"}],
            "current": [{"name": "OEM0", "value": "0.54", "unit": "A"}],
            "fanspeed": [{"name": "FAN0", "value": "1234", "unit": "RPM"}],
        }
    )


async def get_systemperf(request: Request, dev: EmulatedDevice) -> Response:
    return JSONResponse(
        {
            "cpu": {"info": {"cores": 4, "modelName": "Intel(R) Celeron(R) J3455"}, "usage": [3.0]},
            "memory": {"total": 8265986048, "available": 7532920832, "usedPercent": 5.03},
        }
    )


async def get_disk(request: Request, dev: EmulatedDevice) -> Response:
    return JSONResponse(
        [
            {
                "name": "/dev/sda",
                "sizeBytes": 64017354240,
                "model": "SQF-S25M4-64G-S9C",
                "partitions": [{"mountPoint": "/", "sizeBytes": 63208157184, "usedPercent": 25.2}],
            }
        ]
    )


async def get_conncfg(request: Request, dev: EmulatedDevice) -> Response:
    return JSONResponse(dev.conncfg)


async def get_connection(request: Request, dev: EmulatedDevice) -> Response:
    return JSONResponse({"enabled": True, "status": "connected", "certRevoked": False})


# --- writes -----------------------------------------------------------------------------


def _int_in(body: Any, key: str, low: int, high: int) -> int | None:
    value = body.get(key) if isinstance(body, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


async def put_wdt(request: Request, dev: EmulatedDevice) -> Response:
    body = await _json(request)
    if not isinstance(body, dict) or not isinstance(body.get("enabled"), bool):
        return _errors(422, "validator", "enabled is required")
    if "seconds" in body and not await _set_timeout(body, dev):
        return _wdt_range(dev)
    dev.wdt["enabled"] = body["enabled"]
    return JSONResponse({"enabled": dev.wdt["enabled"], "seconds": dev.wdt["timeoutInSeconds"]})


async def put_wdt_timeout(request: Request, dev: EmulatedDevice) -> Response:
    body = await _json(request)
    if not await _set_timeout(body, dev):
        return _wdt_range(dev)
    return JSONResponse({"seconds": dev.wdt["timeoutInSeconds"]})


async def _set_timeout(body: Any, dev: EmulatedDevice) -> bool:
    w = dev.wdt
    seconds = _int_in(body, "seconds", w["timeoutMinInSeconds"], w["timeoutMaxInSeconds"])
    if seconds is None:
        return False
    w["timeoutInSeconds"] = seconds
    return True


def _wdt_range(dev: EmulatedDevice) -> JSONResponse:
    w = dev.wdt
    words = f"seconds must be in [{w['timeoutMinInSeconds']}, {w['timeoutMaxInSeconds']}]"
    return _errors(422, "WDT", words)


def _pin(request: Request, dev: EmulatedDevice) -> dict[str, int] | None:
    try:
        index = int(request.path_params["id"])
    except ValueError:
        return None
    return dev.gpio[index] if 0 <= index < len(dev.gpio) else None


async def put_gpio_dir(request: Request, dev: EmulatedDevice) -> Response:
    pin = _pin(request, dev)
    if pin is None:
        return _errors(400, "GPIO", "invalid parameter")
    value = _int_in(await _json(request), "dir", 0, 1)
    if value is None:
        return _errors(422, "validator", "dir is required (0 or 1)")
    pin["dir"] = value
    return Response(status_code=200)


async def put_gpio_level(request: Request, dev: EmulatedDevice) -> Response:
    pin = _pin(request, dev)
    if pin is None:
        return _errors(400, "GPIO", "invalid parameter")
    value = _int_in(await _json(request), "level", 0, 1)
    if value is None:
        return _errors(422, "validator", "level is required (0 or 1)")
    if pin["dir"] != 0:
        return _errors(422, "GPIO", f"pin {pin['pin']} is an input")
    pin["level"] = value
    return Response(status_code=200)


async def put_led(request: Request, dev: EmulatedDevice) -> Response:
    try:
        index = int(request.path_params["id"])
    except ValueError:
        index = -1
    if not 0 <= index < len(dev.leds):
        return _errors(400, "LED", "invalid parameter")
    body = await _json(request)
    if not isinstance(body, dict) or not isinstance(body.get("status"), bool):
        return _errors(422, "validator", "status is required")
    dev.leds[index] = body["status"]
    return Response(status_code=200)


async def put_brightness(request: Request, dev: EmulatedDevice) -> Response:
    b = dev.brightness
    value = _int_in(await _json(request), "value", b["min"], b["max"])
    if value is None:
        return _errors(422, "Brightness", f"value must be in [{b['min']}, {b['max']}]")
    b["value"] = value
    return Response(status_code=200)


def _iface(request: Request, dev: EmulatedDevice) -> dict[str, Any] | None:
    index = request.path_params.get("ifIndex")
    return next((i for i in dev.interfaces if str(i["ifIndex"]) == index), None)


def _prefix(mask: str) -> int | None:
    import ipaddress

    try:
        return ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen
    except ValueError:
        return None


async def put_ipv4(request: Request, dev: EmulatedDevice) -> Response:
    iface = _iface(request, dev)
    if iface is None:
        return _errors(422, "Net", "no interface with this ifIndex")
    body = await _json(request)
    need = ("ipAddress", "subnetMask", "defaultGateway", "primaryDNS")
    if not isinstance(body, dict) or any(not isinstance(body.get(k), str) for k in need):
        return _errors(422, "validator", "ipAddress, subnetMask, defaultGateway, primaryDNS")
    prefix = _prefix(body["subnetMask"])
    if prefix is None:
        return _errors(422, "Net", f"invalid subnet mask {body['subnetMask']}")
    v6 = [a for a in iface["addresses"] if ":" in a]
    if iface["dhcpEnabled"]:
        dev.leases[iface["ifIndex"]] = list(iface["addresses"])
    iface.update(
        dhcpEnabled=False,
        addresses=[f"{body['ipAddress']}/{prefix}", *v6],
        gateway=[body["defaultGateway"]],
        dns=[d for d in (body["primaryDNS"], body.get("secondaryDNS")) if d],
    )
    return JSONResponse({k: body.get(k) or "" for k in (*need, "secondaryDNS")})


async def delete_ipv4(request: Request, dev: EmulatedDevice) -> Response:
    iface = _iface(request, dev)
    if iface is None:
        return _errors(422, "Net", "no interface with this ifIndex")
    if not iface["dhcpEnabled"] and iface["ifIndex"] in dev.leases:
        iface["addresses"] = dev.leases.pop(iface["ifIndex"])
    iface["dhcpEnabled"] = True
    return Response(status_code=200)


async def post_route(request: Request, dev: EmulatedDevice) -> Response:
    body = await _json(request)
    order = body.get("sortedGUIDList") if isinstance(body, dict) else None
    if not isinstance(order, list) or not order:
        return _errors(422, "networking", "empty list")
    by_uuid = {i["uuid"]: i for i in dev.interfaces}
    unknown = [u for u in order if u not in by_uuid]
    if unknown:
        return _errors(400, "networking", f"unknown interface {unknown[0]}")
    for rank, uuid in enumerate(order):
        by_uuid[uuid]["ipv4Metric"] = 10 * (rank + 1)
    return Response(status_code=201)


async def delete_wifi_profile(request: Request, dev: EmulatedDevice) -> Response:
    name = request.path_params["name"]
    if not name:
        return _errors(400, "WiFi", "invalid profile name")
    if name not in dev.wifi_profiles:
        return _errors(422, "WiFi", f"profile {name} not found")
    dev.wifi_profiles.remove(name)
    return Response(status_code=200)


async def put_service(request: Request, dev: EmulatedDevice) -> Response:
    name = request.path_params["name"]
    body = await _json(request)
    action = body.get("action") if isinstance(body, dict) else None
    if name not in dev.services:
        return _errors(422, "Service", f"service {name} does not exist")
    if action not in ("start", "stop", "restart"):
        return _errors(422, "validator", "action must be start, stop or restart")
    dev.services[name] = "stopped" if action == "stop" else "running"
    return Response(status_code=204)


# --- routing ----------------------------------------------------------------------------

P = "/platform/api/"
ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", P + "perif/wdt", get_wdt),
    ("PUT", P + "perif/wdt", put_wdt),
    ("PUT", P + "perif/wdt/timeout", put_wdt_timeout),
    ("GET", P + "perif/gpio/all", get_gpio_all),
    ("GET", P + "perif/gpio/count", get_gpio_count),
    ("PUT", P + "perif/gpio/{id}/dir", put_gpio_dir),
    ("PUT", P + "perif/gpio/{id}/level", put_gpio_level),
    ("GET", P + "perif/led", get_leds),
    ("PUT", P + "perif/led/{id}", put_led),
    ("GET", P + "perif/brightness", get_brightness),
    ("PUT", P + "perif/brightness", put_brightness),
    ("GET", P + "perif/disk", get_disk),
    ("GET", P + "networking/interfaces", get_interfaces),
    ("POST", P + "networking/interfaces/route", post_route),
    ("PUT", P + "networking/ipv4config/{ifIndex}", put_ipv4),
    ("DELETE", P + "networking/ipv4config/{ifIndex}", delete_ipv4),
    ("GET", P + "networking/wifi/interfaces", get_wifi),
    ("DELETE", P + "networking/wifi/interface/{uuid}/profile/{name}", delete_wifi_profile),
    ("GET", P + "service/list", get_services),
    ("GET", P + "service/{name}", get_service),
    ("PUT", P + "service/{name}", put_service),
    ("GET", P + "host/info", get_host),
    ("GET", P + "hwmon", get_hwmon),
    ("GET", P + "systemperf", get_systemperf),
    ("GET", "/edgehub/api/conncfg", get_conncfg),
    ("GET", "/edgehub/api/connection", get_connection),
    ("PUT", "/auth/user/admin/password", admin_password),
)


async def auth_ping(request: Request, dev: EmulatedDevice) -> Response:
    if dev.ping_needs is not None:
        name, address = dev.ping_needs
        nic = next(i for i in dev.interfaces if i["name"] == name)
        if address not in nic["addresses"]:
            return PlainTextResponse("unreachable", status_code=503)
    return PlainTextResponse("pong")


OPEN: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/auth/ping", auth_ping),
    ("GET", "/auth/token", auth_token),
    ("POST", "/auth/login", auth_login),
)


def _guarded(handler: Handler, method: str, path: str) -> Callable[[Request], Awaitable[Response]]:
    """Token check, unsupported areas (404), injected refusals (422), the write record."""
    where = path.removeprefix(P)

    async def endpoint(request: Request) -> Response:
        dev: EmulatedDevice = request.scope["portal.device"]
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if dev.tokens.get(token, 0.0) < time.monotonic():
            dev.tokens.pop(token, None)
            return _unauthorized()
        if any(where.startswith(u) for u in dev.unsupported):
            return PlainTextResponse("Not supported or no available data.", status_code=404)
        if method != "GET":
            write = f"{method} {request.url.path.removeprefix(P)}"
            if write in dev.refuse:
                return _errors(422, *dev.refuse[write])
            dev.writes.append(write)
            if len(dev.writes) == dev.expire_tokens_after_writes:
                dev.expire_tokens()
        return await handler(request, dev)

    return endpoint


def _open(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await handler(request, request.scope["portal.device"])

    return endpoint


class PortalEmulator:
    """ASGI app: `devices` by id; `/d/<id>/...` selects one, bare paths select id ""."""

    def __init__(self, devices: dict[str, EmulatedDevice] | None = None) -> None:
        self.devices = devices if devices is not None else {"": EmulatedDevice()}
        routes = [Route(p, _guarded(h, m, p), methods=[m]) for m, p, h in ROUTES]
        routes += [Route(p, _open(h), methods=[m]) for m, p, h in OPEN]
        self.app = Starlette(routes=routes)

    @classmethod
    def fleet(cls, count: int) -> PortalEmulator:
        return cls({str(i): EmulatedDevice() for i in range(count)})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == "/stats":  # the emulator's own counters (the bench), not the portal API
            total = sum(d.requests for d in self.devices.values())
            writes = sum(len(d.writes) for d in self.devices.values())
            await JSONResponse({"requests": total, "writes": writes})(scope, receive, send)
            return
        key = ""
        if path.startswith("/d/"):
            key, _, rest = path[3:].partition("/")
            path = "/" + rest
        dev = self.devices.get(key)
        if dev is None:
            await PlainTextResponse("no such device", status_code=404)(scope, receive, send)
            return
        dev.requests += 1
        if dev.fail_next > 0:
            dev.fail_next -= 1
            await PlainTextResponse("busy", status_code=503)(scope, receive, send)
            return
        scope = {**scope, "path": path, "raw_path": path.encode(), "portal.device": dev}
        await self.app(scope, receive, send)


def main(argv: list[str] | None = None) -> int:
    """Serve an emulator on loopback (lab demos, the bench)."""
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description="emulated platform-portal unit(s)")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--devices", type=int, default=0, help="serve /d/0.. /d/N-1 instead")
    args = parser.parse_args(argv)
    app = PortalEmulator.fleet(args.devices) if args.devices else PortalEmulator()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
