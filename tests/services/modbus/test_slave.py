"""The slave on a simulated device, read and written by real pymodbus clients on loopback."""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from typing import Any

import pytest
from modbus_peers import LOOPBACK, client, exception_code, free_port, wait_for
from pymodbus.framer import FramerType

from reconciler.drivers.sim.backend import SimBackend
from reconciler.services.modbus.service import ModbusService, ModbusServiceError
from reconciler.spec.modbus import ModbusSpec
from reconciler.syncstatus import write_status

Serve = Callable[..., ModbusService]


def words_to_bytes(words: list[int]) -> bytes:
    return struct.pack(f">{len(words)}H", *words)


def unswap(words: list[int], swap: str) -> bytes:
    """Undo a swap mode by hand: the client's view of the doc's byte orders."""
    if swap in ("word", "byte-word"):
        words = list(reversed(words))
    raw = words_to_bytes(words)
    if swap in ("byte", "byte-word"):
        raw = b"".join(raw[i : i + 2][::-1] for i in range(0, len(raw), 2))
    return raw


def tcp(port: int, unit: int = 1) -> dict[str, Any]:
    return {"port": port, "unitId": unit, "bindAddress": LOOPBACK}


ZONES = [
    # coils and discrete inputs
    {"name": "do0", "table": "coils", "address": 0, "tag": "gpio.0.level", "writable": True},
    {"name": "pin1", "table": "coils", "address": 1, "tag": "gpio.1.level"},
    {"name": "pin3", "table": "coils", "address": 2, "tag": "gpio.3.level", "writable": True},
    {"name": "pin2", "table": "discrete", "address": 0, "tag": "gpio.pins.2.level"},
    {"name": "synced", "table": "discrete", "address": 1, "tag": "reconciler.inSync"},
    # input registers: telemetry under every swap mode
    {"name": "cpu", "table": "input", "address": 0, "dataType": "float32",
     "tag": "system.cpuPercent"},
    {"name": "mem", "table": "input", "address": 2, "dataType": "float32", "swap": "word",
     "tag": "system.memoryPercent"},
    {"name": "up", "table": "input", "address": 4, "dataType": "uint32", "swap": "byte-word",
     "tag": "system.uptimeSeconds"},
    {"name": "temp", "table": "input", "address": 6, "dataType": "int16",
     "tag": "hwmon.temperatures.CPU", "scaling": {"intercept": {"slope": 10}}},
    {"name": "fan", "table": "input", "address": 7, "dataType": "uint16", "swap": "byte",
     "tag": "hwmon.fanspeeds.FAN0"},
    {"name": "volt", "table": "input", "address": 8, "dataType": "float64",
     "tag": "hwmon.voltages.12V"},
    {"name": "sync", "table": "input", "address": 12, "dataType": "int16",
     "tag": "reconciler.syncStateCode"},
    {"name": "applied", "table": "input", "address": 13, "dataType": "uint32",
     "tag": "reconciler.lastAppliedAt"},
    # holding registers
    {"name": "host", "table": "holding", "address": 0, "quantity": 8, "dataType": "string",
     "tag": "system.hostname"},
    {"name": "wdt", "table": "holding", "address": 10, "dataType": "uint16", "writable": True,
     "tag": "watchdog.timeoutSeconds", "scaling": {"intercept": {"slope": 10}}},
    {"name": "sys-temp", "table": "holding", "address": 20, "dataType": "int32",
     "tag": "hwmon.temperatures.System",
     "scaling": {"point": {"sourceMin": 0, "sourceMax": 100, "targetMin": 0,
                           "targetMax": 10000}}},
    {"name": "up64", "table": "holding", "address": 30, "dataType": "int64",
     "tag": "system.uptimeSeconds"},
    {"name": "wdt32", "table": "holding", "address": 40, "dataType": "uint32", "writable": True,
     "swap": "word", "tag": "watchdog.timeoutSeconds"},
]  # fmt: skip


def start(serve: Serve, backend: SimBackend, **options: Any) -> tuple[ModbusService, int]:
    port = free_port()
    service = serve(backend, {"slave": {"tcp": tcp(port), "zones": ZONES}}, **options)
    return service, port


def test_every_table_type_swap_and_scaling(serve: Serve, uno: SimBackend) -> None:
    uno.set_out_of_band("system.hostname", "press-07")
    write_status(uno.root.parent, {"syncState": "Synced", "lastAppliedAt": "2024-05-01T12:00:00Z"})
    # No periodic refresh: what is served stays equal to the tags() snapshot.
    service, port = start(serve, uno, refresh_s=3600)
    tags = {name: t["value"] for name, t in service.tags().items()}
    assert all(t["quality"] == "good" for t in service.tags().values()), service.tags()
    c = client(port)

    assert c.read_coils(0, count=3).bits[:3] == [False, False, False]
    assert c.read_discrete_inputs(0, count=2).bits[:2] == [False, True]

    regs = c.read_input_registers(0, count=15).registers
    assert (
        struct.unpack(">f", words_to_bytes(regs[0:2]))[0]
        == struct.unpack(">f", struct.pack(">f", tags["system.cpuPercent"]))[0]
    )
    assert (
        struct.unpack(">f", unswap(regs[2:4], "word"))[0]
        == struct.unpack(">f", struct.pack(">f", tags["system.memoryPercent"]))[0]
    )
    assert struct.unpack(">I", unswap(regs[4:6], "byte-word"))[0] == tags["system.uptimeSeconds"]
    assert struct.unpack(">h", words_to_bytes(regs[6:7]))[0] == round(
        tags["hwmon.temperatures.CPU"] * 10
    )
    assert struct.unpack(">H", unswap(regs[7:8], "byte"))[0] == tags["hwmon.fanspeeds.FAN0"]
    assert struct.unpack(">d", words_to_bytes(regs[8:12]))[0] == tags["hwmon.voltages.12V"]
    assert regs[12] == 0  # Synced
    assert struct.unpack(">I", words_to_bytes(regs[13:15]))[0] == 1714564800

    hold = c.read_holding_registers(0, count=8).registers
    assert words_to_bytes(hold).rstrip(b"\0") == b"press-07"
    assert c.read_holding_registers(10).registers == [600]  # 60 s, served in tenths
    temp = struct.unpack(">i", words_to_bytes(c.read_holding_registers(20, count=2).registers))
    assert temp[0] == round(tags["hwmon.temperatures.System"] * 100)
    up = struct.unpack(">q", words_to_bytes(c.read_holding_registers(30, count=4).registers))
    assert up[0] == tags["system.uptimeSeconds"]
    assert c.read_holding_registers(40, count=2).registers == [60, 0]  # word swap
    c.close()


def test_a_coil_write_drives_the_gpio_output(serve: Serve, uno: SimBackend) -> None:
    _, port = start(serve, uno)
    c = client(port)
    response = c.write_coil(0, True)
    assert not response.isError(), response
    fresh = SimBackend.open(uno.root.parent, None)  # what the device itself now reports
    assert fresh.observe()["gpio"]["pins"]["0"] == {"direction": "output", "level": "high"}
    assert c.read_coils(0).bits[0] is True
    assert not c.write_coils(0, [False]).isError()
    assert fresh.observe()["gpio"]["pins"]["0"]["level"] == "low"
    c.close()


def test_holding_writes_go_through_scaling_and_swap(serve: Serve, uno: SimBackend) -> None:
    _, port = start(serve, uno)
    c = client(port)
    assert not c.write_register(10, 300).isError()  # tenths: 30 s
    assert uno.observe()["watchdog"]["timeoutSeconds"] == 30
    assert not c.write_registers(40, [45, 0]).isError()  # uint32, word swap
    assert uno.observe()["watchdog"]["timeoutSeconds"] == 45
    assert c.read_holding_registers(10).registers == [450]
    c.close()


def test_writes_that_cannot_be_done_get_exception_responses(serve: Serve, uno: SimBackend) -> None:
    _, port = start(serve, uno)
    before = uno.observe()
    c = client(port)
    illegal_address, illegal_value = 2, 3
    assert exception_code(c.write_coil(1, True)) == illegal_address  # zone not writable
    assert exception_code(c.write_register(0, 0x4142)) == illegal_address  # hostname
    assert exception_code(c.write_register(500, 1)) == illegal_address  # no zone there
    assert exception_code(c.write_registers(9, [1, 2])) == illegal_address  # half outside
    assert exception_code(c.write_register(40, 30)) == illegal_address  # half a uint32
    assert exception_code(c.write_register(10, 3000)) == illegal_value  # 300 s > 255 s
    assert exception_code(c.write_coil(2, True)) == illegal_value  # pin 3 is an input
    assert exception_code(c.read_input_registers(100)) == illegal_address
    assert exception_code(c.read_coils(3)) == illegal_address
    assert uno.observe() == before
    c.close()


def test_only_the_configured_unit_is_answered(serve: Serve, uno: SimBackend) -> None:
    _, port = start(serve, uno)
    c = client(port)
    assert not c.read_coils(0, device_id=1).isError()
    assert exception_code(c.read_coils(0, device_id=7)) == 0x0B  # gateway: no such target
    c.close()


def test_a_tag_that_does_not_resolve_is_an_error_not_a_number(
    serve: Serve, uno: SimBackend
) -> None:
    port = free_port()
    spec = {
        "slave": {
            "tcp": tcp(port),
            "zones": [
                {"name": "gpu", "table": "input", "address": 0, "tag": "hwmon.temperatures.GPU"},
                {"name": "host", "table": "input", "address": 1, "tag": "system.hostname"},
                {"name": "ok", "table": "input", "address": 2, "tag": "watchdog.timeoutSeconds"},
            ],
        }
    }
    service = serve(uno, spec)
    c = client(port)
    assert exception_code(c.read_input_registers(0)) == 4  # device failure
    assert exception_code(c.read_input_registers(1)) == 4  # text in a number zone
    assert exception_code(c.read_input_registers(0, count=3)) == 4
    assert c.read_input_registers(2).registers == [60]
    tag = service.tags()["hwmon.temperatures.GPU"]
    assert tag["quality"] == "bad" and "no item named 'GPU'" in tag["error"]
    errors = service.status()["slave"]["zoneErrors"]
    assert set(errors) == {"gpu", "host"}
    assert "not a number" in errors["host"]
    c.close()


def test_reconfigure_moves_zones_under_a_connected_client(serve: Serve, uno: SimBackend) -> None:
    port = free_port()
    zone = {"name": "wdt", "table": "holding", "address": 0, "tag": "watchdog.timeoutSeconds"}
    service = serve(uno, {"slave": {"tcp": tcp(port), "zones": [zone]}})
    connects: list[bool] = []
    c = client(port, trace_connect=connects.append)
    assert c.read_holding_registers(0).registers == [60]
    seen = list(connects)

    moved = {**zone, "address": 50, "dataType": "uint32"}
    service.reconfigure(
        ModbusSpec.model_validate({"slave": {"tcp": tcp(port, 3), "zones": [moved]}})
    )
    assert exception_code(c.read_holding_registers(0, device_id=3)) == 2
    assert c.read_holding_registers(50, count=2, device_id=3).registers == [0, 60]
    assert exception_code(c.read_holding_registers(50, count=2, device_id=1)) == 0x0B
    assert connects == seen  # same connection all along: the server was not restarted
    c.close()

    other = free_port()
    service.reconfigure(ModbusSpec.model_validate({"slave": {"tcp": tcp(other), "zones": [zone]}}))
    assert service.address() == (LOOPBACK, other)
    c = client(other)
    assert c.read_holding_registers(0).registers == [60]
    c.close()
    service.reconfigure(None)
    assert service.address() is None and service.tags() == {}


def test_drift_on_the_device_shows_up_in_the_registers(serve: Serve, uno: SimBackend) -> None:
    _, port = start(serve, uno)
    c = client(port)
    uno.set_out_of_band("gpio.pins.1", {"direction": "output", "level": "high"})
    wait_for(lambda: c.read_coils(1).bits[0], "coil 1 follows gpio.pins.1.level")
    c.close()


def test_dio_channels_of_a_gateway(serve: Serve, aig: SimBackend) -> None:
    port = free_port()
    zones = [
        {"name": "door", "table": "discrete", "address": 0, "tag": "io.di.1.state"},
        {"name": "horn", "table": "coils", "address": 0, "tag": "io.do.1.state", "writable": True},
    ]
    serve(aig, {"slave": {"tcp": tcp(port), "zones": zones}})
    c = client(port)
    aig.set_out_of_band("io.di.1.state", "on")
    wait_for(lambda: c.read_discrete_inputs(0).bits[0], "discrete 0 follows io.di.1.state")
    assert not c.write_coil(0, True).isError()
    assert aig.observe()["io"]["do"]["1"]["state"] == "on"
    c.close()


def test_rtu_framing_on_a_serial_line(serve: Serve, uno: SimBackend) -> None:
    # pyserial's socket:// URL stands in for the serial port: the bytes are RTU frames.
    port = free_port()
    zone = {"name": "wdt", "table": "holding", "address": 0, "tag": "watchdog.timeoutSeconds"}
    spec = {"slave": {"rtu": {"port": 2, "unitId": 5}, "zones": [zone]}}
    service = serve(uno, spec, serial_paths={2: f"socket://{LOOPBACK}:{port}"})
    assert service.status()["slave"]["listening"] == {"rtu": f"socket://{LOOPBACK}:{port}"}
    c = client(port, FramerType.RTU)
    assert c.read_holding_registers(0, device_id=5).registers == [60]
    c.close()


def test_a_taken_port_is_reported_and_the_rest_still_runs(serve: Serve, uno: SimBackend) -> None:
    import socket

    with socket.create_server((LOOPBACK, 0)) as taken:
        port = taken.getsockname()[1]
        spec = {"slave": {"tcp": tcp(port), "zones": ZONES}}
        service = ModbusService(uno, uno.root.parent)
        try:
            try:
                service.start(ModbusSpec.model_validate(spec))
            except ModbusServiceError as exc:
                assert "TCP slave cannot listen" in str(exc)
            else:
                raise AssertionError("listening on a taken port did not fail")
            assert service.tags()["system.hostname"]["quality"] == "good"
        finally:
            service.stop()


def _raw(port: int, pdu: bytes, transaction: int = 7, unit: int = 1) -> bytes:
    """One Modbus TCP request as bytes on the wire; the reply's PDU (function byte on)."""
    import socket

    frame = struct.pack(">HHHB", transaction, 0, len(pdu) + 1, unit) + pdu
    with socket.create_connection((LOOPBACK, port), timeout=10) as sock:
        sock.sendall(frame)
        head = b""
        while len(head) < 7:
            head += sock.recv(7 - len(head))
        (length,) = struct.unpack(">H", head[4:6])
        body = b""
        while len(body) < length - 1:
            body += sock.recv(length - 1 - len(body))
    assert struct.unpack(">H", head[:2])[0] == transaction
    return body


def test_fc5_values_other_than_on_and_off_are_illegal_data_value(
    serve: Serve, uno: SimBackend
) -> None:
    _, port = start(serve, uno)
    c = client(port)
    assert c.read_coils(0).bits[0] is False
    for value in (0x1234, 0x0001, 0xFFFF, 0x00FF):
        assert _raw(port, struct.pack(">BHH", 5, 0, value)) == bytes([0x85, 0x03])
    assert c.read_coils(0).bits[0] is False  # nothing was written
    assert _raw(port, struct.pack(">BHH", 5, 0, 0xFF00)) == struct.pack(">BHH", 5, 0, 0xFF00)
    assert c.read_coils(0).bits[0] is True
    assert _raw(port, struct.pack(">BHH", 5, 0, 0x0000)) == struct.pack(">BHH", 5, 0, 0)
    c.close()


def test_exception_replies_carry_the_function_code(serve: Serve, uno: SimBackend) -> None:
    _, port = start(serve, uno)
    c = client(port)
    for response, function in (
        (c.read_coils(3), 0x01),
        (c.read_input_registers(100), 0x04),
        (c.write_register(0, 0x4142), 0x06),
        (c.write_registers(500, [1]), 0x10),
    ):
        assert response.isError() and response.function_code == 0x80 | function, response
    c.close()
    assert _raw(port, struct.pack(">BHH", 3, 500, 1)) == bytes([0x83, 0x02])
    for unsupported in (0x09, 0x41, 0x64):  # no such function
        reply = _raw(port, bytes([unsupported]) + b"\x00\x00")
        assert reply == bytes([0x80 | unsupported, 0x01]), reply.hex()


def _unknown_unit_records(
    serve: Serve, uno: SimBackend, caplog: pytest.LogCaptureFixture, level: int
) -> list[logging.LogRecord]:
    _, port = start(serve, uno)
    caplog.clear()
    with caplog.at_level(level, logger="pymodbus"):
        c = client(port)
        c.read_coils(0)  # a frame both ways, then an error pymodbus logs
        assert exception_code(c.read_coils(0, device_id=9)) == 0x0B
        c.close()
        wait_for(lambda: any("device id" in r.getMessage() for r in caplog.records), "the log")
    return list(caplog.records)


def test_no_frame_dumps_in_the_log_unless_debug(
    serve: Serve, uno: SimBackend, caplog: pytest.LogCaptureFixture
) -> None:
    records = _unknown_unit_records(serve, uno, caplog, logging.INFO)
    text = "\n".join(r.getMessage() for r in records)
    assert "requested device id does not exist: 9" in text
    assert ">>>>>" not in text and "send: " not in text and "recv: " not in text


def test_frames_are_logged_at_debug(
    serve: Serve, uno: SimBackend, caplog: pytest.LogCaptureFixture
) -> None:
    records = _unknown_unit_records(serve, uno, caplog, logging.DEBUG)
    assert any("recv: " in r.getMessage() for r in records)
