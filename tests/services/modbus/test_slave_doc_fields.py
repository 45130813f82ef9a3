"""The gateway doc's slave fields beyond the register map, served by the real slave and read
by a real pymodbus client: zones with several tags (tags[]) or tags at their own addresses
(refTags[]), the TCP keep-alive (keepAliveTime) and the slave/master log levels."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from modbus_peers import LOOPBACK, client, exception_code, free_port, wait_for
from testkit import need_tool

from reconciler.drivers.sim.backend import SimBackend
from reconciler.services.modbus.service import ModbusService

Serve = Callable[..., ModbusService]


def tcp(port: int, **more: Any) -> dict[str, Any]:
    return {"port": port, "unitId": 1, "bindAddress": LOOPBACK, **more}


def test_tags_and_ref_tags_are_served_value_by_value(serve: Serve, uno: SimBackend) -> None:
    uno.set_out_of_band("watchdog.timeoutSeconds", 42)
    zones = [
        {"name": "pins", "table": "coils", "address": 0, "writable": True,
         "tags": ["gpio.1.level", "gpio.0.level", "gpio.2.level"]},
        {"name": "wdt", "table": "holding", "address": 10, "quantity": 6, "dataType": "uint16",
         "writable": True, "refTags": [{"tag": "watchdog.timeoutSeconds", "address": 14},
                                       {"tag": "system.uptimeSeconds", "address": 11}]},
    ]  # fmt: skip
    port = free_port()
    service = serve(uno, {"slave": {"tcp": tcp(port), "zones": zones}}, refresh_s=3600)
    uptime = service.tags()["system.uptimeSeconds"]["value"]
    c = client(port)
    assert c.read_coils(0, count=3).bits[:3] == [False, False, False]
    assert not c.write_coil(1, True).isError()  # the second tag of the zone: gpio.0
    pins = SimBackend.open(uno.root.parent, None).observe()["gpio"]["pins"]
    assert (pins["0"]["level"], pins["1"]["level"]) == ("high", "low")
    assert c.read_coils(0, count=2).bits[:2] == [False, True]
    assert c.read_holding_registers(14).registers == [42]
    assert c.read_holding_registers(11).registers == [uptime & 0xFFFF]
    assert not c.write_register(14, 30).isError()
    assert uno.observe()["watchdog"]["timeoutSeconds"] == 30
    assert exception_code(c.read_holding_registers(12)) == 2  # between the refTags: no tag
    assert service.status()["slave"]["zones"] == 5  # 3 tags + 2 refTags
    c.close()


def _keepalive_timers(port: int) -> list[str]:
    out = subprocess.run(
        [need_tool("ss", "iproute2"), "-tnoH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in out.splitlines() if "timer:(keepalive" in line]


@pytest.mark.parametrize(("minutes", "probed"), [(5, True), (0, False)])
def test_keep_alive_time_probes_client_connections(
    serve: Serve, uno: SimBackend, minutes: int, probed: bool
) -> None:
    port = free_port()
    zone = {"name": "cpu", "table": "input", "address": 0, "tag": "system.cpuPercent"}
    serve(uno, {"slave": {"tcp": tcp(port, keepAliveTime=minutes), "zones": [zone]}})
    c = client(port)
    assert not c.read_input_registers(0).isError()
    if probed:
        timers = wait_for(lambda: _keepalive_timers(port), "a keep-alive timer on the connection")
        idle = timers[0].split("timer:(keepalive,")[1].split(",")[0]
        assert idle.endswith(("min", "sec")), timers  # minutes of idle time, counting down
    else:
        assert _keepalive_timers(port) == []
    c.close()


def test_log_levels_of_slave_and_master(
    serve: Serve, uno: SimBackend, caplog: pytest.LogCaptureFixture
) -> None:
    zone = {"name": "cpu", "table": "input", "address": 0, "tag": "system.cpuPercent"}
    caplog.set_level(logging.DEBUG, logger="reconciler")
    quiet = {"slave": {"tcp": tcp(free_port(), name="press_7~slave"), "zones": [zone],
                       "logLevel": "WARN"}, "master": {"logLevel": "OFF"}}  # fmt: skip
    serve(uno, quiet)
    assert "serving on" not in caplog.text
    assert logging.getLogger("reconciler.services.modbus.master").level > logging.CRITICAL
    loud = {"slave": {"tcp": tcp(free_port(), name="press_7~slave"), "zones": [zone],
                      "logLevel": "DEBUG"}}  # fmt: skip
    serve(uno, loud)
    assert "Modbus TCP slave press_7~slave serving on" in caplog.text
    assert logging.getLogger("reconciler.services.modbus.master").level == logging.NOTSET
