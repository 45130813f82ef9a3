"""modbus area: register map and master checks, each located at the field to fix."""

from __future__ import annotations

import textwrap

import pytest

from reconciler.loader import Problem, parse_document, validate_device_document

# The body starts on line 5 and is indented two columns under `spec:`.
HEAD = "apiVersion: reconciler/v1\nkind: Device\nmetadata: {name: gw, model: %s}\nspec:\n"


def problems(body: str, model: str = "AIG-302") -> list[Problem]:
    text = HEAD % model + textwrap.indent(textwrap.dedent(body), "  ")
    _, found = validate_device_document(parse_document(text, "f.yaml"))
    return found


def located(found: list[Problem]) -> dict[str, tuple[int, int, str]]:
    """path -> (line, col, message); one problem per path in these tests."""
    out = {p.path: (p.line, p.col, p.message) for p in found}
    assert len(out) == len(found), [str(p) for p in found]
    return out


def expect(found: list[Problem], want: dict[str, tuple[int, int, str]]) -> None:
    got = located(found)
    assert set(got) == set(want), [str(p) for p in found]
    for path, (line, col, fragment) in want.items():
        assert got[path][:2] == (line, col), (path, got[path])
        assert fragment in got[path][2], (path, got[path])


ZONES = "modbus:\n  slave:\n    zones:\n"  # zone i is on line 8 + i


def zones(*items: str) -> str:
    return ZONES + "".join(f"      - {item}\n" for item in items)


def test_design_example_is_valid_and_defaults_are_derived() -> None:
    body = """\
        modbus:
          slave:
            tcp: {port: 5020, unitId: 1}
            rtu: {port: 2, unitId: 7, format: ascii}
            zones:
              - {name: cpu, table: input, address: 0, quantity: 2, dataType: float32,
                 tag: system.cpuPercent}
              - {name: do0, table: coils, address: 0, quantity: 1, dataType: bool,
                 tag: io.do.1.state, writable: true}
              - {name: temp, table: holding, address: 10, dataType: float, tag: hwmon.cpu,
                 swap: little-endian, scaling: {point: {sourceMin: 0, sourceMax: 100,
                 targetMin: 0, targetMax: 1}}}
              - {name: flags, table: discrete, address: 1, quantity: 16, tag: io.di}
              - {name: label, table: holding, address: 12, quantity: 8, dataType: string,
                 tag: system.hostname}
              - {name: speed-set, table: holding, address: 20, tag: modbus.plc1.speed,
                 writable: true, scaling: {intercept: {slope: 0.1, offset: -5}}}
          master:
            devices:
              - name: plc1
                tcp: {host: 192.168.1.10, port: 502, unitId: 1}
                retryCount: 5
                responseTimeoutMs: 120000
                initialDelayMs: 30000
                commands:
                  - {name: speed, function: readHolding, address: 100, quantity: 2,
                     dataType: uint32, intervalMs: 1000}
                  - {name: run, function: writeSingleCoil, address: 3, value: true}
                  - {name: setpoint, function: writeMultipleRegisters, address: 200,
                     dataType: float64, tag: modbus.meter.energy}
              - name: meter
                rtu: {port: 1, unitId: 3}
                commands: [{name: energy, function: readInput, address: 0, quantity: 125}]
              - name: meter2
                rtu: {port: 1, unitId: 4}
        """
    text = HEAD % "AIG-302" + textwrap.indent(textwrap.dedent(body), "  ")
    spec, found = validate_device_document(parse_document(text, "f.yaml"))
    assert found == []
    assert spec is not None and spec.spec.modbus is not None
    slave = spec.spec.modbus.slave
    assert slave is not None and slave.zones is not None
    temp = slave.zones[2]
    assert (temp.value_type, temp.size, temp.swap) == ("float32", 2, "byte-word")
    assert (slave.zones[3].value_type, slave.zones[3].size) == ("bool", 16)
    master = spec.spec.modbus.master
    assert master is not None and master.devices is not None
    assert master.devices[1].retry_count == 3  # the doc's default
    assert master.devices[0].commands is not None
    assert master.devices[0].commands[2].size == 4


def test_overlapping_zones_point_at_the_later_zone() -> None:
    found = problems(
        zones(
            "{name: a, table: holding, address: 0, quantity: 4, tag: system.a}",
            "{name: b, table: input, address: 2, quantity: 2, dataType: float32, tag: system.b}",
            "{name: c, table: holding, address: 3, quantity: 2, dataType: int32, tag: system.c}",
            "{name: d, table: holding, address: 5, tag: system.d}",
            "{name: e, table: holding, address: 1, tag: system.e}",
        )
    )
    expect(
        found,
        {
            "spec.modbus.slave.zones.2.address": (10, 46, "overlaps zone 'a' (holding 0..3)"),
            "spec.modbus.slave.zones.4.address": (12, 46, "overlaps zone 'a' (holding 0..3)"),
        },
    )


def test_zone_sizes_and_address_range() -> None:
    found = problems(
        zones(
            "{name: a, table: holding, address: 65534, quantity: 4, tag: system.a}",
            "{name: b, table: coils, address: 0, quantity: 2001, tag: system.b}",
            "{name: c, table: input, address: 0, quantity: 126, tag: system.c}",
            "{name: d, table: input, address: 65535, dataType: uint32, tag: system.d}",
        )
    )
    expect(
        found,
        {
            "spec.modbus.slave.zones.0.quantity": (8, 63, "65534..65537 run past the last"),
            "spec.modbus.slave.zones.1.quantity": (9, 57, "at most 2000 bits per request"),
            "spec.modbus.slave.zones.2.quantity": (10, 57, "at most 125 registers per request"),
            "spec.modbus.slave.zones.3.address": (11, 44, "65535..65536 run past the last"),
        },
    )


def test_zone_types_against_tables() -> None:
    found = problems(
        zones(
            "{name: a, table: holding, address: 0, quantity: 3, dataType: float32, tag: system.a}",
            "{name: b, table: holding, address: 10, dataType: bool, tag: system.b}",
            "{name: c, table: coils, address: 0, dataType: int16, tag: system.c}",
            "{name: d, table: input, address: 20, quantity: 4, dataType: float64, tag: system.d,"
            " writable: true}",
            "{name: e, table: holding, address: 30, dataType: string, tag: system.e}",
            "{name: f, table: discrete, address: 0, tag: system.f, swap: byte}",
            "{name: g, table: holding, address: 40, dataType: float64, quantity: 6, tag: system.g}",
        )
    )
    expect(
        found,
        {
            "spec.modbus.slave.zones.0.quantity": (8, 59, "float32 takes 2 registers per value"),
            "spec.modbus.slave.zones.1.dataType": (9, 60, "bool needs coils or discrete"),
            "spec.modbus.slave.zones.2.dataType": (10, 57, "dataType must be bool, not int16"),
            "spec.modbus.slave.zones.3.writable": (11, 105, "input is read-only in Modbus"),
            "spec.modbus.slave.zones.4.quantity": (12, 11, "a string needs a quantity"),
            "spec.modbus.slave.zones.5.swap": (13, 71, "swap applies to registers"),
            "spec.modbus.slave.zones.6.quantity": (14, 79, "quantity 6 is not a multiple of 4"),
        },
    )


def test_zone_scaling() -> None:
    found = problems(
        zones(
            "{name: a, table: holding, address: 0, dataType: int16, tag: system.a, scaling: {point:"
            " {sourceMin: 1, sourceMax: 1, targetMin: 0, targetMax: 10}}}",
            "{name: b, table: holding, address: 1, tag: watchdog.enabled, writable: true,"
            " scaling: {intercept: {slope: 0}}}",
            "{name: c, table: coils, address: 3, tag: system.c, scaling: {intercept: {slope: 2}}}",
        )
    )
    expect(
        found,
        {
            "spec.modbus.slave.zones.0.scaling.point.sourceMax": (8, 124, "must differ"),
            "spec.modbus.slave.zones.1.scaling": (9, 97, "needs invertible scaling"),
            "spec.modbus.slave.zones.2.scaling": (10, 71, "needs a numeric dataType, not bool"),
        },
    )


@pytest.mark.parametrize(
    ("zone", "path", "col", "fragment"),
    [
        ("{name: a, table: holding, address: 0, tag: gpio..0}", "tag", 54, "not a dotted path"),
        ("{name: a, table: holding, address: 0, tag: 0.level}", "tag", 54, "not a dotted path"),
        ("{name: a, table: holidng, address: 0, tag: x}", "table", 28, "'holding' or 'input'"),
        ("{name: a, table: coils, address: 70000, tag: x}", "address", 44, "less than or equal"),
        ("{name: a, table: coils, address: 0, tag: x, swap: word-byte}", "swap", 61, "'word'"),
        ("{name: a, table: coils, address: 0, tag: x, scaling: {}}", "scaling", 64, "exactly one"),
        ("{name: a, table: coils, address: 0}", "tag", 11, "required field is missing"),
    ],
)
def test_zone_schema(zone: str, path: str, col: int, fragment: str) -> None:
    found = problems(zones(zone))
    expect(found, {f"spec.modbus.slave.zones.0.{path}": (8, col, fragment)})


def test_duplicate_zone_names() -> None:
    found = problems(
        zones(
            "{name: a, table: holding, address: 0, tag: system.a}",
            "{name: a, table: holding, address: 1, tag: system.b}",
        )
    )
    expect(found, {"spec.modbus.slave.zones.1.name": (9, 18, "duplicate name 'a'")})


def test_master_commands() -> None:
    body = """\
        modbus:
          master:
            devices:
              - name: plc1
                tcp: {host: 192.168.1.10}
                commands:
                  - {name: a, function: readHolding, address: 0, quantity: 126}
                  - {name: b, function: writeSingleRegister, address: 0, dataType: int32, value: 5}
                  - {name: c, function: writeSingleCoil, address: 0}
                  - {name: d, function: readCoils, address: 0, value: true}
                  - {name: e, function: writeSingleRegister, address: 0, value: 70000}
                  - {name: f, function: readInput, address: 0, dataType: bool}
                  - {name: a, function: readCoils, address: 0, quantity: 2000}
        """
    p = "spec.modbus.master.devices.0.commands"
    expect(
        problems(body),
        {
            f"{p}.0.quantity": (11, 70, "readHolding carries at most 125 registers"),
            f"{p}.1.dataType": (12, 78, "at most 1 register per request, not 2; use writeMulti"),
            f"{p}.2.function": (13, 35, "needs exactly one of tag or value"),
            f"{p}.3.value": (14, 65, "value only applies to write functions"),
            f"{p}.4.value": (15, 75, "70000 is not a valid uint16 value"),
            f"{p}.5.dataType": (16, 68, "bool needs coils or discrete inputs"),
            f"{p}.6.name": (17, 22, "duplicate name 'a'"),
        },
    )


def test_master_devices_and_buses() -> None:
    body = """\
        modbus:
          slave:
            rtu: {port: 1}
          master:
            devices:
              - {name: plc1, tcp: {host: 10.0.0.5, unitId: 1}}
              - {name: plc2, tcp: {host: 10.0.0.5, port: 502, unitId: 1}}
              - {name: m1, rtu: {port: 2, unitId: 3}}
              - {name: m2, rtu: {port: 2, unitId: 3, format: ascii}}
              - {name: m3, rtu: {port: 1, unitId: 4}}
              - {name: m4, rtu: {port: 4}}
              - {name: master, tcp: {host: 10.0.0.6}}
        """
    p = "spec.modbus.master.devices"
    expect(
        problems(body),
        {
            f"{p}.1.tcp.unitId": (11, 65, "same unit as device 'plc1'"),
            f"{p}.3.rtu.unitId": (13, 45, "same unit as device 'm1'"),
            f"{p}.3.rtu.format": (13, 56, "device 'm1' on serial port 2 uses format 'rtu'"),
            f"{p}.4.rtu.port": (14, 34, "serial port 1 is the Modbus RTU slave's port"),
            f"{p}.5.rtu.port": (15, 34, "AIG-302 has serial ports 1, 2, not serial port 4"),
            f"{p}.6.name": (16, 18, "'master' is reserved"),
        },
    )


@pytest.mark.parametrize(
    ("device", "path", "col", "fragment"),
    [
        ("{name: x}", "", 11, "give exactly one of tcp or rtu"),
        ("{name: x, tcp: {host: a.b}, rtu: {port: 1}}", "", 11, "give exactly one of tcp or rtu"),
        ("{name: x, rtu: {port: 1, unitId: 248}}", ".rtu.unitId", 44, "less than or equal to 247"),
        ("{name: x, tcp: {host: a..b}}", ".tcp.host", 33, "invalid host name label"),
        ("{name: x, tcp: {host: a}, retryCount: 6}", ".retryCount", 49, "less than or equal"),
        ("{name: x, tcp: {host: a}, responseTimeoutMs: 9}", ".responseTimeoutMs", 56, "10"),
        ("{name: x, tcp: {host: a}, initialDelayMs: 30001}", ".initialDelayMs", 53, "30000"),
    ],
)
def test_master_device_schema(device: str, path: str, col: int, fragment: str) -> None:
    found = problems(f"modbus:\n  master:\n    devices:\n      - {device}\n")
    expect(found, {f"spec.modbus.master.devices.0{path}": (8, col, fragment)})


def test_rtu_port_must_exist_on_the_model() -> None:
    found = problems("modbus:\n  slave:\n    rtu: {port: 3}\n", "UNO-2484G")
    expect(found, {"spec.modbus.slave.rtu.port": (7, 19, "UNO-2484G has serial ports 1, 2")})


def test_slave_tcp_ranges() -> None:
    found = problems("modbus:\n  slave:\n    tcp: {port: 0, unitId: 0, bindAddress: 10.0.0.300}\n")
    expect(
        found,
        {
            "spec.modbus.slave.tcp.port": (7, 19, "greater than or equal to 1"),
            "spec.modbus.slave.tcp.unitId": (7, 30, "greater than or equal to 1"),
            "spec.modbus.slave.tcp.bindAddress": (7, 46, "is not an IP address"),
        },
    )
