"""The route table: every path, its handler, response schema and documented errors.

One table drives both the server (app.py) and the OpenAPI document (openapi.py), so the
two cannot disagree. Paths use `{id}` where the portal reference writes `:id`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Operation:
    path: str
    handler: str  # method name on handlers.Handlers
    summary: str
    schema: str | None  # component schema of the 200 body; None: text
    errors: tuple[int, ...] = ()  # besides 401 (every protected route)
    method: str = "GET"
    public: bool = False
    sse: bool = False  # also answers Accept: text/event-stream
    tag: str = "platform"
    query: tuple[str, ...] = ()  # query parameter names (see openapi.PARAMETERS)
    media: str = "application/json"
    ok: int = 200  # 204: the answer is the status alone
    empty: bool = False  # also 204 where the device has no data (the reference's form)


def _hw(path: str, handler: str, summary: str, schema: str, sse: bool = False) -> Operation:
    """A hardware route: 404 when the model lacks the hardware."""
    return Operation(path, handler, summary, schema, errors=(404,), sse=sse)


OPERATIONS: tuple[Operation, ...] = (
    # -- authentication ---------------------------------------------------------------
    Operation("/auth/ping", "pong", "Liveness.", None, public=True, tag="auth", media="text/plain"),
    Operation(
        "/auth/version", "api_version", "API version.", "ApiVersion", public=True, tag="auth"
    ),
    Operation(
        "/auth/agentinfo", "agent_info", "Agent version.", "AgentInfo", public=True, tag="auth"
    ),
    Operation(
        "/auth/token",
        "token",
        "A JWT for HTTP Basic credentials of an account with status:read.",
        "Token",
        errors=(400,),
        public=True,
        tag="auth",
        query=("m",),
    ),
    Operation(
        "/auth/login",
        "login",
        "A JWT for a JSON user name and password.",
        "Token",
        errors=(400,),
        method="POST",
        public=True,
        tag="auth",
        query=("m",),
    ),
    Operation(
        "/auth/certificate",
        "certificate",
        "The PEM certificate of the ES256 key tokens are signed with (public: verify tokens).",
        None,
        public=True,
        tag="auth",
        media="application/octet-stream",
    ),
    Operation(
        "/auth/logout",
        "logout",
        "Revoke the token presented (if any) and clear the cookie.",
        "Logout",
        method="POST",
        public=True,
        tag="auth",
    ),
    # -- platform -----------------------------------------------------------------------
    Operation("/platform/api/ping", "pong", "Liveness.", None, public=True, media="text/plain"),
    Operation("/platform/api/agentinfo", "agent_info", "Agent version.", "AgentInfo", public=True),
    # -- portal service -------------------------------------------------------------------
    Operation(
        "/api/ping", "pong", "Liveness.", None, public=True, tag="portal", media="text/plain"
    ),
    Operation(
        "/api/agentinfo", "agent_info", "Agent version.", "AgentInfo", public=True, tag="portal"
    ),
    Operation(
        "/api/irtm/ping", "pong", "Liveness.", None, public=True, tag="irtm", media="text/plain"
    ),
    _hw("/platform/api/hwmon", "hwmon", "All hardware-monitor readings.", "Hwmon", sse=True),
    _hw("/platform/api/hwmon/temperatures", "temperatures", "Temperatures.", "Readings"),
    _hw("/platform/api/hwmon/voltages", "voltages", "Voltages.", "Readings"),
    _hw("/platform/api/hwmon/currents", "currents", "Currents.", "Readings"),
    _hw("/platform/api/hwmon/fanspeeds", "fanspeeds", "Fan speeds.", "Readings"),
    Operation("/platform/api/host/info", "host_info", "Host information.", "HostInfo"),
    Operation(
        "/platform/api/host/display/count",
        "display_count",
        "Number of displays.",
        "DisplayCount",
    ),
    _hw("/platform/api/devmgr", "devmgr", "Hardware attached to the device.", "DeviceList"),
    Operation("/platform/api/systemperf", "systemperf", "CPU and memory.", "SystemPerf"),
    Operation("/platform/api/systemperf/cpu", "cpu", "CPU information and usage.", "Cpu"),
    Operation("/platform/api/systemperf/memory", "memory", "Memory usage.", "Memory"),
    _hw("/platform/api/perif/led", "leds", "LED levels by index.", "LedList"),
    Operation("/platform/api/perif/led/{id}", "led", "One LED's level.", "Led", errors=(400, 404)),
    _hw("/platform/api/perif/wdt", "watchdog", "Hardware watchdog.", "Watchdog"),
    _hw("/platform/api/perif/disk", "disks", "Disks and partitions.", "DiskList", sse=True),
    _hw("/platform/api/perif/disk/partition", "partitions", "Partitions.", "PartitionList"),
    _hw(
        "/platform/api/perif/redundant_power",
        "redundant_power",
        "Redundant power inputs (1 online, 0 offline).",
        "RedundantPower",
        sse=True,
    ),
    Operation("/platform/api/perif/gpio/count", "gpio_count", "GPIO pin count.", "GpioCount"),
    _hw("/platform/api/perif/gpio/all", "gpio_all", "All GPIO pins.", "GpioList"),
    Operation(
        "/platform/api/perif/gpio/{id}", "gpio", "One GPIO pin.", "GpioPin", errors=(400, 404)
    ),
    Operation(
        "/platform/api/perif/gpio/{id}/dir",
        "gpio_dir",
        "A pin's direction (0 output, 1 input).",
        "GpioDir",
        errors=(400, 404),
    ),
    Operation(
        "/platform/api/perif/gpio/{id}/level",
        "gpio_level",
        "A pin's level (0 low, 1 high).",
        "GpioLevel",
        errors=(400, 404),
    ),
    _hw("/platform/api/perif/brightness", "brightness", "Display brightness.", "Brightness"),
    Operation(
        "/platform/api/networking/interfaces",
        "interfaces",
        "Network adapters and their IP configuration.",
        "InterfaceList",
        sse=True,
    ),
    Operation(
        "/platform/api/networking/wifi/interfaces",
        "wifi_interfaces",
        "Wi-Fi adapters and their profiles.",
        "WifiInterfaceList",
    ),
    _hw(
        "/platform/api/networking/wifi/networks/{uuid}",
        "wifi_networks",
        "Wi-Fi networks in range of an adapter (uuid: the interface name).",
        "WifiNetworkList",
    ),
    _hw("/platform/api/processes", "processes", "Running processes.", "ProcessList", sse=True),
    Operation("/platform/api/service/list", "services", "Services.", "ServiceList"),
    Operation("/platform/api/service/{name}", "service", "One service's status.", "ServiceStatus"),
    Operation(
        "/platform/api/events",
        "events",
        "Server-Sent Events: diskdrives, hwmon, netifaces, processes, pwrstatus, systemperf.",
        None,
        media="text/event-stream",
    ),
    Operation(
        "/platform/api/control/display",
        "control_display",
        "204 when the display can be turned on and off, 404 when not.",
        None,
        errors=(404,),
        ok=204,
    ),
    Operation(
        "/platform/api/etp/devicedata",
        "etp_device",
        "ETP device data (204 without an ETP).",
        "EtpDeviceData",
        empty=True,
    ),
    _hw("/platform/api/etp/userdata", "etp_user", "ETP user data.", "EtpUserData"),
    _hw(
        "/platform/api/etp/userdata/lockstatus",
        "etp_lock",
        "Whether the ETP user data is locked.",
        "EtpLockStatus",
    ),
    # -- edgehub ------------------------------------------------------------------------
    Operation(
        "/edgehub/api/ping",
        "pong",
        "Liveness.",
        None,
        public=True,
        tag="edgehub",
        media="text/plain",
    ),
    Operation(
        "/edgehub/api/agentinfo",
        "agent_info",
        "Agent version.",
        "AgentInfo",
        public=True,
        tag="edgehub",
    ),
    Operation(
        "/edgehub/api/connection", "connection", "Cloud connection.", "Connection", tag="edgehub"
    ),
    Operation(
        "/edgehub/api/conncfg",
        "conncfg",
        "Cloud connection settings (secrets redacted).",
        "ConnCfg",
        errors=(404,),
        tag="edgehub",
    ),
    Operation(
        "/edgehub/api/macaddr",
        "macaddr",
        "The MAC address the device registers with (its default interface's).",
        "MacAddress",
        errors=(404,),
        tag="edgehub",
    ),
    Operation(
        "/edgehub/api/apphub/status",
        "apphub",
        "The AppHub service's state (404 without AppHub).",
        "AppHubStatus",
        errors=(404,),
        tag="edgehub",
    ),
    Operation(
        "/edgehub/api/edgebus/status",
        "edgebus",
        "The embedded broker's state (404: no backend runs one).",
        "EdgeBusStatus",
        errors=(404,),
        tag="edgehub",
    ),
    Operation(
        "/edgehub/api/profile", "profile", "Supported functions.", "EdgeHubProfile", tag="edgehub"
    ),
    # -- the reconciler's own ------------------------------------------------------------
    Operation("/reconciler/api/status", "status", "Sync status.", "SyncStatus", tag="reconciler"),
    Operation(
        "/reconciler/api/history",
        "history",
        "Recorded applies, newest first.",
        "History",
        errors=(400,),
        tag="reconciler",
        query=("limit",),
    ),
    Operation(
        "/reconciler/api/tags",
        "tags",
        "Modbus tags: value, quality (good, bad, pending), time last good, error.",
        "Tags",
        tag="reconciler",
    ),
    Operation(
        "/reconciler/api/plan",
        "plan",
        "A fresh plan against the device (read-only; nothing is applied).",
        "Plan",
        errors=(404, 422),
        tag="reconciler",
    ),
    Operation(
        "/metrics",
        "metrics",
        "Prometheus metrics.",
        None,
        tag="reconciler",
        media="text/plain; version=0.0.4",
    ),
    Operation(
        "/openapi.json",
        "openapi",
        "This document.",
        None,
        tag="reconciler",
        media="application/json",
    ),
)

NOT_SERVED: dict[str, str] = {
    "/platform/api/host/screenshot/{index}": "interactive (screenshots) stays out",
    "/platform/api/host/screenshot/{index}/file": "interactive (screenshots) stays out",
    "/platform/api/term/ws": "interactive (web terminal) stays out",
    "/platform/api/rdesk/{id}": "interactive (remote desktop) stays out",
}
"""Documented GETs this endpoint does not serve, and why (the README's portal GET table)."""

PUBLIC_PATHS = frozenset(op.path for op in OPERATIONS if op.public)
POST_PATHS = frozenset(op.path for op in OPERATIONS if op.method == "POST")
SSE_ONLY = "/platform/api/events"
