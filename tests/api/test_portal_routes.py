"""Every documented read route over real HTTP: status codes, JSON shapes against the
reference's examples and against the OpenAPI schemas, and the values the sim holds."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import jsonschema
import pytest
from apikit import Served, gateway, read_events, uno
from documented import GPIO_BAD_ID, PROCESS

from reconciler.api.openapi import document
from reconciler.api.routes import OPERATIONS

__all__ = ["gateway", "uno"]


def schema_check(body: Any, path: str) -> None:
    """The body validates against the OpenAPI document's 200 schema for `path`."""
    template = next(op for op in OPERATIONS if _matches(op.path, path) and op.method == "GET").path
    content = document()["paths"][template]["get"]["responses"]["200"]["content"]
    schema = {**content["application/json"]["schema"], "components": document()["components"]}
    jsonschema.Draft202012Validator(schema).validate(body)


def _matches(template: str, path: str) -> bool:
    a, b = template.split("/"), path.split("/")
    return len(a) == len(b) and all(x == y or x.startswith("{") for x, y in zip(a, b, strict=True))


def test_interfaces_hold_the_device_config(uno: Served) -> None:
    body = uno.get("/platform/api/networking/interfaces").json()
    schema_check(body, "/platform/api/networking/interfaces")
    by_name = {i["name"]: i for i in body}
    assert list(by_name) == ["eth0", "eth1", "eth2", "eth3", "wlan0"]
    assert by_name["eth0"]["addresses"] == ["10.0.7.20/24"]
    assert by_name["eth0"]["gateway"] == ["10.0.7.1"]
    assert by_name["eth0"]["dns"] == ["10.0.0.53", "1.1.1.1"]
    assert by_name["eth0"]["isDefault"] and not by_name["eth1"]["isDefault"]
    assert by_name["eth1"]["dhcpEnabled"] and not by_name["eth0"]["dhcpEnabled"]
    assert by_name["wlan0"]["type"] == "Wi-Fi"
    assert by_name["eth0"]["speed"] == "1 Gbps" and by_name["wlan0"]["speed"] == "300 Mbps"
    assert by_name["eth0"]["iocounters"]["ifindex"] == by_name["eth0"]["ifIndex"]
    assert by_name["eth0"]["iocounters"]["bytesRecv"] > 0


def test_interface_counters_only_grow(uno: Served) -> None:
    """The sim's counters are traffic since boot: a later read never shows fewer bytes."""

    def counters() -> dict[str, int]:
        body = uno.get("/platform/api/networking/interfaces").json()
        return {i["name"]: i["iocounters"]["bytesRecv"] for i in body if "iocounters" in i}

    first = counters()
    deadline = time.monotonic() + 60
    while (later := counters()) == first and time.monotonic() < deadline:
        time.sleep(0.2)
    assert set(later) == set(first) and all(later[n] >= first[n] for n in first)
    assert any(later[n] > first[n] for n in first)


def test_processes_match_the_reference(uno: Served) -> None:
    body = uno.get("/platform/api/processes").json()
    schema_check(body, "/platform/api/processes")
    assert any(p["pid"] == 1 for p in body)
    for process in body:
        assert set(process) <= set(PROCESS)
        assert {"pid", "name", "numThreads", "memUsage", "cpuPercent"} <= set(process)


def _listing_with(uno: Served, user: str, pid: int) -> dict[int, dict[str, Any]]:
    """The process list as `user` sees it, once it has caught up with `pid` (cached)."""
    deadline = time.monotonic() + 60
    while True:
        listing = {p["pid"]: p for p in uno.get("/platform/api/processes", user=user).json()}
        if pid in listing or time.monotonic() > deadline:
            return listing
        time.sleep(0.1)


def test_command_lines_only_for_processes_read(uno: Served) -> None:
    """monitor holds status:read only, auditor `*:read`: arguments (which may carry
    secrets) reach the auditor alone, as plain JSON and as an event stream."""
    marker = "marker-argument-5f3a"
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", marker])
    try:
        full = _listing_with(uno, "auditor", child.pid)
        assert marker in full[child.pid]["cmdline"]
        shown = list(_listing_with(uno, "monitor", child.pid).values())
        schema_check(shown, "/platform/api/processes")
        assert child.pid in {p["pid"] for p in shown}
        assert not any("cmdline" in p for p in shown) and marker not in json.dumps(shown)
        stream = {"Accept": "text/event-stream"}
        with (
            uno.client(uno.token("monitor")) as c,
            c.stream("GET", "/platform/api/processes", headers=stream) as response,
        ):
            (_, first), *_ = read_events(response, 1)
        assert child.pid in {p["pid"] for p in first}
        assert not any("cmdline" in p for p in first)
    finally:
        child.kill()
        child.wait()


def test_values_come_from_the_device(uno: Served) -> None:
    assert uno.get("/platform/api/perif/led").json() == [True] + [False] * 7
    assert uno.get("/platform/api/perif/led/0").json() is True
    assert uno.get("/platform/api/perif/led/1").json() is False
    assert uno.get("/platform/api/perif/gpio/0").json() == {"pin": 0, "dir": 0, "level": 1}
    assert uno.get("/platform/api/perif/gpio/1/dir").json() == {"dir": 1}
    assert uno.get("/platform/api/perif/gpio/count").json() == {"count": 8}
    assert uno.get("/platform/api/perif/brightness").json() == {"min": 0, "max": 9, "value": 7}
    assert uno.get("/platform/api/perif/wdt").json() == {
        "enabled": True,
        "type": "EC Watchdog",
        "timeoutInSeconds": 60,
        "timeoutMaxInSeconds": 255,
        "timeoutMinInSeconds": 10,
    }
    assert uno.get("/platform/api/service/ssh").json() == {"status": "running"}
    assert uno.get("/platform/api/service/telnet").json() == {"status": "stopped"}
    assert uno.get("/platform/api/service/no-such").json() == {"status": "unknown"}
    hwmon = uno.get("/platform/api/hwmon").json()
    assert [r["name"] for r in hwmon["temperature"]] == ["CPU", "System"]
    assert uno.get("/platform/api/hwmon/fanspeeds").json()[0]["unit"] == "RPM"
    info = uno.get("/platform/api/host/info").json()
    assert info["hostname"] == "api-test-uno" and info["deviceName"] == "UNO-2484G"
    wifi = uno.get("/platform/api/networking/wifi/interfaces").json()
    assert [p["name"] for p in wifi[0]["profiles"]] == ["plant-a"]
    cfg = uno.get("/edgehub/api/conncfg").json()
    assert cfg["mqttHost"] == "broker.lab.example" and cfg["mqttPort"] == 8883
    assert cfg["password"] == cfg["mqttKey"] == cfg["mqttCert"] == "(sensitive)"
    assert uno.get("/edgehub/api/connection").json()["enabled"] is True
    profile = uno.get("/edgehub/api/profile").json()
    assert profile["model:name"] == "UNO-2484G" and profile["perif:gpio:count"] == 8
    assert profile["perif:led"] == 1 and profile["system:ip"] == "10.0.7.20"
    assert uno.get("/edgehub/api/macaddr").json() == profile["system:mac"]
    assert profile["host:display:count"] == uno.get("/platform/api/host/display/count").json()
    assert uno.get("/platform/api/perif/redundant_power").json() == {"vin1State": 1, "vin2State": 1}
    networks = uno.get("/platform/api/networking/wifi/networks/wlan0").json()
    assert [(n["ssid"], n["alreadyConnected"]) for n in networks] == [("plant-a", True)]
    assert uno.get("/platform/api/etp/devicedata").json()["modelName"] == "UNO-2484G"
    assert uno.get("/platform/api/etp/userdata/lockstatus").json() == {"locked": False}


@pytest.mark.parametrize(
    "path",
    ["/platform/api/ping", "/auth/ping", "/edgehub/api/ping", "/api/ping", "/api/irtm/ping"],
)
def test_ping_is_public_text(uno: Served, path: str) -> None:
    with uno.client() as c:
        response = c.get(path)
    assert response.status_code == 200 and response.text == "pong"


@pytest.mark.parametrize(
    ("path", "area"),
    [
        ("/platform/api/perif/led", "LED"),
        ("/platform/api/perif/led/0", "LED"),
        ("/platform/api/perif/gpio/all", "GPIO"),
        ("/platform/api/perif/gpio/0", "GPIO"),
        ("/platform/api/perif/gpio/0/level", "GPIO"),
        ("/platform/api/perif/brightness", "Brightness"),
        ("/platform/api/hwmon/fanspeeds", "HWMON"),
        ("/platform/api/hwmon/currents", "HWMON"),
        ("/platform/api/perif/redundant_power", "Power"),
        ("/edgehub/api/conncfg", "EdgeHub"),
        ("/platform/api/control/display", "Control"),
        ("/platform/api/etp/userdata", "ETP"),
        ("/platform/api/etp/userdata/lockstatus", "ETP"),
        ("/edgehub/api/apphub/status", "AppHub"),
        ("/platform/api/networking/wifi/networks/eth0", "WiFi"),
    ],
)
def test_hardware_the_model_lacks_is_404(gateway: Served, path: str, area: str) -> None:
    response = gateway.get(path)
    assert response.status_code == 404, response.text
    assert list(response.json()["errors"]) == [area]


def test_gateway_reports_what_it_has(gateway: Served) -> None:
    assert gateway.get("/platform/api/perif/gpio/count").json() == {"count": 0}
    assert gateway.get("/platform/api/host/display/count").json() == 0
    etp = gateway.get("/platform/api/etp/devicedata")
    assert etp.status_code == 204 and etp.content == b""  # the reference's "no ETP"
    devices = gateway.get("/platform/api/devmgr").json()
    assert "Cellular modem (wwan0)" in [d["name"] for d in devices]
    assert gateway.get("/platform/api/networking/wifi/networks/wlan0").status_code == 404
    assert gateway.get("/platform/api/perif/wdt").json()["type"] == "SoC Watchdog"
    hwmon = gateway.get("/platform/api/hwmon").json()
    assert set(hwmon) == {"temperature", "voltage"}
    names = [i["name"] for i in gateway.get("/platform/api/networking/interfaces").json()]
    assert names == ["eth0", "eth1", "wlan0", "wwan0"]
    assert gateway.get("/edgehub/api/connection").json()["enabled"] is False


@pytest.mark.parametrize(
    "path",
    [
        "/platform/api/perif/gpio/8",
        "/platform/api/perif/gpio/-1",
        "/platform/api/perif/gpio/x",
        "/platform/api/perif/gpio/%E2%91%A0",
        "/platform/api/perif/gpio/99999999999/dir",
        "/platform/api/perif/gpio/1.0/level",
    ],
)
def test_bad_gpio_id_is_400(uno: Served, path: str) -> None:
    response = uno.get(path)
    assert response.status_code == 400, response.text
    assert response.json() == GPIO_BAD_ID


@pytest.mark.parametrize("raw", ["8", "-1", "on", " 1"])
def test_bad_led_id_is_400(uno: Served, raw: str) -> None:
    response = uno.get(f"/platform/api/perif/led/{raw}")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["LED"]


def test_unknown_route_is_404(uno: Served) -> None:
    response = uno.get("/platform/api/nothing-here")
    assert response.status_code == 404
    assert response.json()["Code"] == 404
    assert uno.get("/platform/api/hwmon/").status_code == 404


def test_device_reads_are_cached(tmp_path: Any) -> None:
    """Many clients within the cache time cost one device read."""
    from apikit import UNO, serve, write_secrets

    from reconciler import operations as ops

    class Counting:
        def __init__(self, inner: Any) -> None:
            self.inner, self.name, self.profile, self.reads = inner, inner.name, inner.profile, 0

        def observe(self) -> dict[str, Any]:
            return self.inner.observe()  # type: ignore[no-any-return]

        def observe_all(self) -> dict[str, Any]:
            self.reads += 1
            return self.inner.observe_all()  # type: ignore[no-any-return]

    state = tmp_path / "state"
    backend = Counting(ops.open_backend("sim", state, "UNO-2484G"))
    served = serve(UNO, state, write_secrets(tmp_path / "s"), cache_seconds=600, backend=backend)
    try:
        for path in ["/platform/api/hwmon", "/platform/api/perif/led", "/edgehub/api/profile"] * 10:
            assert served.get(path).status_code == 200
        assert backend.reads == 1
    finally:
        served.handle.stop()
