"""The master against pymodbus servers standing in for remote PLCs, all on loopback."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from modbus_peers import (
    LOOPBACK,
    Plc,
    SilentDevice,
    client,
    exception_code,
    free_port,
    wait_for,
)
from pymodbus.framer import FramerType

from reconciler.drivers.sim.backend import SimBackend
from reconciler.services.modbus.service import ModbusService
from reconciler.spec.modbus import ModbusSpec

Serve = Callable[..., ModbusService]
MakePlc = Callable[..., Plc]


def words(fmt: str, value: Any) -> list[int]:
    raw = struct.pack(">" + fmt, value)
    return list(struct.unpack(f">{len(raw) // 2}H", raw))


def put(memory: dict[int, int], address: int, regs: list[int]) -> None:
    for i, reg in enumerate(regs):
        memory[address + i] = reg


def gateway(plc_port: int, slave_port: int, **device: Any) -> dict[str, Any]:
    """A PLC polled every 50 ms and its values served back out through slave zones."""
    commands = [
        {"name": "speed", "function": "readHolding", "address": 100, "quantity": 2,
         "dataType": "uint32", "intervalMs": 50},
        {"name": "temp", "function": "readInput", "address": 0, "quantity": 2,
         "dataType": "float32", "swap": "word", "intervalMs": 50},
        {"name": "pressure", "function": "readHolding", "address": 110, "dataType": "int16",
         "intervalMs": 50, "scaling": {"intercept": {"slope": 0.1}}},
        {"name": "burner", "function": "readCoils", "address": 0, "quantity": 4,
         "intervalMs": 50},
        {"name": "setpoint", "function": "readHolding", "address": 120, "quantity": 2,
         "dataType": "float32", "intervalMs": 50},
    ]  # fmt: skip
    zones = [
        {"name": "speed", "table": "input", "address": 0, "quantity": 2, "dataType": "uint32",
         "tag": "modbus.plc1.speed"},
        {"name": "temp", "table": "input", "address": 2, "quantity": 2, "dataType": "float32",
         "tag": "modbus.plc1.temp"},
        {"name": "pressure", "table": "input", "address": 4, "dataType": "float32",
         "tag": "modbus.plc1.pressure"},
        {"name": "burner", "table": "discrete", "address": 0, "quantity": 4,
         "tag": "modbus.plc1.burner"},
        {"name": "setpoint", "table": "holding", "address": 0, "dataType": "float32",
         "tag": "modbus.plc1.setpoint", "writable": True},
    ]  # fmt: skip
    return {
        "slave": {"tcp": {"port": slave_port, "bindAddress": LOOPBACK}, "zones": zones},
        "master": {
            "devices": [
                {
                    "name": "plc1",
                    "tcp": {"host": LOOPBACK, "port": plc_port, "unitId": 1},
                    "retryCount": 1,
                    "responseTimeoutMs": 200,
                    "commands": commands,
                    **device,
                }
            ]
        },
    }


def good(service: ModbusService, tag: str) -> Any:
    reading = service.tags().get(tag)
    return reading if reading and reading["quality"] == "good" else None


def test_polled_values_come_back_out_through_slave_zones(
    serve: Serve, uno: SimBackend, plc: MakePlc
) -> None:
    device = plc()
    device.coils[:4] = [True, False, True, True]
    device.stop()
    device.start()  # coils are set when the simulated device is built
    put(device.holding, 100, words("I", 123456))
    put(device.input, 0, list(reversed(words("f", 21.5))))  # the PLC stores it word-swapped
    device.holding[110] = struct.unpack(">H", struct.pack(">h", -42))[0]
    slave_port = free_port()
    service = serve(uno, gateway(device.port, slave_port))

    commands = ("speed", "temp", "pressure", "burner")  # each on a schedule of its own
    wait_for(lambda: all(good(service, f"modbus.plc1.{n}") for n in commands), "the first polls")
    tags = service.tags()
    assert tags["modbus.plc1.speed"]["value"] == 123456
    assert tags["modbus.plc1.temp"]["value"] == 21.5
    assert tags["modbus.plc1.pressure"]["value"] == -4.2
    assert tags["modbus.plc1.burner"]["value"] == [True, False, True, True]
    assert tags["modbus.plc1.speed"]["error"] is None
    assert service.status()["master"]["plc1"]["online"] is True

    c = client(slave_port)
    wait_for(lambda: not c.read_input_registers(0, count=6).isError(), "every zone served")
    regs = c.read_input_registers(0, count=6).registers
    assert regs[0:2] == words("I", 123456)
    assert regs[2:4] == words("f", 21.5)
    assert regs[4:6] == words("f", -4.2)
    assert c.read_discrete_inputs(0, count=4).bits[:4] == [True, False, True, True]

    put(device.holding, 100, words("I", 654321))
    wait_for(
        lambda: c.read_input_registers(0, count=2).registers == words("I", 654321),
        "a new PLC value reaches the zone",
    )
    c.close()


def test_a_plc_that_stops_is_offline_and_recovers(
    serve: Serve, uno: SimBackend, plc: MakePlc
) -> None:
    device = plc()
    put(device.holding, 100, words("I", 7))
    slave_port = free_port()
    service = serve(uno, gateway(device.port, slave_port))
    c = client(slave_port)
    wait_for(lambda: not c.read_input_registers(0, count=2).isError(), "the first poll")
    first = service.tags()["modbus.plc1.speed"]

    device.stop()
    wait_for(lambda: service.status()["master"]["plc1"]["online"] is False, "offline")
    speed = service.tags()["modbus.plc1.speed"]
    assert speed["quality"] == "bad"
    assert "device plc1 offline" in speed["error"]
    assert speed["value"] == 7  # the last value, stamped when it was good
    assert speed["timestamp"] >= first["timestamp"]
    assert all(t["quality"] == "bad" for n, t in service.tags().items() if n.startswith("modbus."))
    assert service.status()["master"]["plc1"]["error"]
    assert exception_code(c.read_input_registers(0, count=2)) == 0x0B  # not a stale number

    put(device.holding, 100, words("I", 8))
    device.start()
    wait_for(lambda: service.status()["master"]["plc1"]["online"], "back online")
    wait_for(
        lambda: c.read_input_registers(0, count=2).registers == words("I", 8),
        "fresh values served again",
    )
    assert service.tags()["modbus.plc1.speed"]["quality"] == "good"
    c.close()


def test_no_answer_is_resent_retry_count_times(
    serve: Serve, uno: SimBackend, silent: SilentDevice
) -> None:
    spec = {
        "master": {
            "devices": [
                {
                    "name": "mute",
                    "tcp": {"host": LOOPBACK, "port": silent.port},
                    "retryCount": 2,
                    "responseTimeoutMs": 50,
                    "commands": [
                        {"name": "x", "function": "readHolding", "address": 0, "intervalMs": 600000}
                    ],
                }
            ]
        }
    }
    service = serve(uno, spec)
    wait_for(lambda: service.status()["master"]["mute"]["online"] is False, "offline")
    wait_for(lambda: silent.requests >= 3, "the request and its two resends arrive")
    assert silent.requests == 3
    tag = service.tags()["modbus.mute.x"]
    assert tag["quality"] == "bad" and tag["value"] is None and tag["timestamp"] is None
    assert "within 50 ms (3 tries)" in tag["error"]


def test_an_exception_response_fails_only_its_command(
    serve: Serve, uno: SimBackend, plc: MakePlc
) -> None:
    device = plc()
    spec = gateway(device.port, free_port())
    spec["master"]["devices"][0]["commands"].append(
        {"name": "far", "function": "readHolding", "address": 500, "intervalMs": 50}
    )
    service = serve(uno, spec)
    wait_for(lambda: service.tags()["modbus.plc1.far"]["error"], "the failing command ran")
    wait_for(lambda: good(service, "modbus.plc1.speed"), "the other commands")
    far = service.tags()["modbus.plc1.far"]
    assert far["quality"] == "bad"
    assert far["error"] == "readHolding: exception 2 (illegal data address)"
    assert service.status()["master"]["plc1"]["online"] is True


def test_write_commands_and_writes_through_a_zone(
    serve: Serve, uno: SimBackend, plc: MakePlc
) -> None:
    device = plc()
    slave_port = free_port()
    spec = gateway(device.port, slave_port)
    spec["master"]["devices"][0]["commands"] += [
        {"name": "mode", "function": "writeSingleRegister", "address": 150, "value": 77,
         "intervalMs": 50},
        {"name": "wdt", "function": "writeMultipleRegisters", "address": 151, "quantity": 2,
         "dataType": "uint32", "tag": "watchdog.timeoutSeconds", "intervalMs": 50},
    ]  # fmt: skip
    service = serve(uno, spec)
    wait_for(lambda: device.holding.get(150) == 77, "the constant is written")
    wait_for(lambda: [device.holding.get(151), device.holding.get(152)] == [0, 60], "the tag")
    assert service.tags()["modbus.plc1.wdt"]["value"] == 60

    c = client(slave_port)
    wait_for(lambda: good(service, "modbus.plc1.setpoint"), "the setpoint was read")
    assert not c.write_registers(0, words("f", 42.5)).isError()
    assert [device.holding[120], device.holding[121]] == words("f", 42.5)
    assert service.tags()["modbus.plc1.setpoint"]["value"] == 42.5
    assert c.read_holding_registers(0, count=2).registers == words("f", 42.5)

    device.stop()
    wait_for(lambda: service.status()["master"]["plc1"]["online"] is False, "offline")
    assert exception_code(c.write_registers(0, words("f", 1.0))) == 0x0B
    c.close()


def test_initial_delay_holds_the_first_request(serve: Serve, uno: SimBackend, plc: MakePlc) -> None:
    device = plc()
    spec = gateway(device.port, free_port())
    late = {**spec["master"]["devices"][0], "name": "late", "initialDelayMs": 30000}
    late["tcp"] = {**late["tcp"], "unitId": 2}
    spec["master"]["devices"].append(late)
    service = serve(uno, spec)
    wait_for(lambda: good(service, "modbus.plc1.speed"), "the first device's poll")
    assert service.tags()["modbus.late.speed"]["quality"] == "pending"
    assert service.status()["master"]["late"]["online"] is None


def test_reconfigure_restarts_only_changed_devices(
    serve: Serve, uno: SimBackend, plc: MakePlc
) -> None:
    device, second = plc(), plc()
    spec = gateway(device.port, free_port())
    other = {**spec["master"]["devices"][0], "name": "plc2"}
    other["tcp"] = {**other["tcp"], "port": second.port}
    spec["master"]["devices"].append(other)
    service = serve(uno, spec)
    wait_for(lambda: good(service, "modbus.plc2.speed"), "plc2 polled")
    kept = service._master.pollers["plc2"] if service._master else None

    changed = gateway(device.port, spec["slave"]["tcp"]["port"])
    changed["master"]["devices"][0]["commands"] = [
        {"name": "strokes", "function": "readHolding", "address": 130, "intervalMs": 50}
    ]
    changed["slave"]["zones"] = [
        {"name": "strokes", "table": "input", "address": 0, "tag": "modbus.plc1.strokes"}
    ]
    changed["master"]["devices"].append(other)
    device.holding[130] = 99
    service.reconfigure(ModbusSpec.model_validate(changed))
    assert service._master is not None and service._master.pollers["plc2"] is kept
    wait_for(lambda: good(service, "modbus.plc1.strokes"), "the new command polled")
    assert service.tags()["modbus.plc1.strokes"]["value"] == 99
    assert not any(t.startswith("modbus.plc1.speed") for t in service.tags())

    disabled = {**changed}
    disabled["master"] = {"devices": [{**changed["master"]["devices"][0], "enabled": False}]}
    service.reconfigure(ModbusSpec.model_validate(disabled))
    assert service.status()["master"] == {}


def test_a_device_on_a_serial_line(serve: Serve, uno: SimBackend, plc: MakePlc) -> None:
    # The PLC speaks RTU frames; pyserial's socket:// URL stands in for the serial port.
    device = plc(framer=FramerType.RTU, unit=3)
    put(device.holding, 100, words("I", 4242))
    spec = {
        "master": {
            "devices": [
                {
                    "name": "meter",
                    "rtu": {"port": 1, "unitId": 3},
                    "commands": [
                        {"name": "energy", "function": "readHolding", "address": 100,
                         "quantity": 2, "dataType": "uint32", "intervalMs": 50},
                    ],
                }
            ]
        }
    }  # fmt: skip
    service = serve(uno, spec, serial_paths={1: f"socket://{LOOPBACK}:{device.port}"})
    wait_for(lambda: good(service, "modbus.meter.energy"), "polled over RTU")
    assert service.tags()["modbus.meter.energy"]["value"] == 4242
