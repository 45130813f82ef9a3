"""Tags checked at validate time against the model, each problem at its file:line:col."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from reconciler.loader import Problem, parse_document, validate_device_document

HEAD = "apiVersion: reconciler/v1\nkind: Device\nmetadata: {name: gw, model: %s}\nspec:\n"
REPO = Path(__file__).resolve().parents[3]


def problems(body: str, model: str = "UNO-2484G") -> dict[str, tuple[int, int, str]]:
    text = HEAD % model + textwrap.indent(textwrap.dedent(body), "  ")
    _, found = validate_device_document(parse_document(text, "f.yaml"))
    return {p.path: (p.line, p.col, p.message) for p in found}


def only(found: dict[str, tuple[int, int, str]], path: str, fragment: str) -> tuple[int, int]:
    assert set(found) == {path}, found
    assert fragment in found[path][2], found[path]
    return found[path][:2]


ZONE = "modbus:\n  slave:\n    zones:\n      - {name: z, table: %s, address: 0, tag: %s%s}\n"


def zone(tag: str, table: str = "input", extra: str = "") -> str:
    return ZONE % (table, tag, extra)


def test_every_documented_root_is_accepted() -> None:
    tags = [
        "system.cpuPercent",
        "system.memoryPercent",
        "system.uptimeSeconds",
        "hwmon.temperatures.CPU",
        "hwmon.fanspeeds.FAN0",
        "gpio.pins.7.level",
        "gpio.0.level",
        "watchdog.timeoutSeconds",
        "reconciler.syncStateCode",
        "reconciler.lastAppliedAt",
    ]
    body = "modbus:\n  slave:\n    zones:\n" + "".join(
        f"      - {{name: z{i}, table: input, address: {i}, tag: {t}}}\n"
        for i, t in enumerate(tags)
    )
    assert problems(body) == {}


def test_unknown_root_suggests_the_closest() -> None:
    found = problems(zone("sytem.cpuPercent"))
    where = only(found, "spec.modbus.slave.zones.0.tag", "unknown tag root 'sytem'")
    assert where == (8, 52)
    assert "did you mean 'system'?" in found["spec.modbus.slave.zones.0.tag"][2]


def test_gpio_pins_and_io_channels_must_exist_on_the_model() -> None:
    path = "spec.modbus.slave.zones.0.tag"
    only(problems(zone("gpio.8.level")), path, "UNO-2484G has GPIO pins 0..7, not '8'")
    only(problems(zone("gpio.0.level"), "AIG-302"), path, "AIG-302 has no GPIO pins")
    only(problems(zone("gpio.pins.0.direction")), path, "GPIO tags are gpio.pins.N.level")
    only(problems(zone("io.di.3.state"), "AIG-302"), path, "AIG-302 has DI channels 1..2")
    only(problems(zone("io.di.1.state")), path, "UNO-2484G has no DI channels")
    only(problems(zone("io.ai.1.value"), "AIG-302"), path, "io.di.N.FIELD or io.do.N.FIELD")
    only(problems(zone("system")), path, "name a value inside system, e.g. system.cpuPercent")
    assert problems(zone("io.do.2.state"), "AIG-302") == {}


def test_polled_values_need_a_declared_command() -> None:
    body = """\
        modbus:
          slave:
            zones:
              - {name: a, table: input, address: 0, tag: modbus.plc1.speed}
              - {name: b, table: input, address: 1, tag: modbus.plc1.sped}
              - {name: c, table: input, address: 2, tag: modbus.plc2.speed}
              - {name: d, table: input, address: 3, tag: modbus.plc1}
          master:
            devices:
              - name: plc1
                tcp: {host: 127.0.0.1}
                commands:
                  - {name: speed, function: readHolding, address: 0}
                  - {name: out, function: writeSingleRegister, address: 9, tag: system.nothing}
                  - {name: cp, function: writeSingleRegister, address: 9, tag: cpu.percent}
        """
    found = problems(body)
    p = "spec.modbus.slave.zones"
    assert set(found) == {f"{p}.1.tag", f"{p}.2.tag", f"{p}.3.tag",
                          "spec.modbus.master.devices.0.commands.2.tag"}  # fmt: skip
    assert "master device 'plc1' has no command 'sped'" in found[f"{p}.1.tag"][2]
    assert found[f"{p}.1.tag"][:2] == (9, 52)
    assert "no master device 'plc2'" in found[f"{p}.2.tag"][2]
    assert "modbus.DEVICE.COMMAND" in found[f"{p}.3.tag"][2]
    assert "unknown tag root 'cpu'" in found["spec.modbus.master.devices.0.commands.2.tag"][2]


def test_writable_zones_need_a_writable_tag() -> None:
    body = """\
        modbus:
          slave:
            zones:
              - {name: a, table: coils, address: 0, tag: gpio.0.level, writable: true}
              - {name: b, table: holding, address: 0, tag: watchdog.timeoutSeconds, writable: true}
              - {name: c, table: holding, address: 1, tag: system.cpuPercent, writable: true}
              - {name: d, table: holding, address: 2, tag: modbus.plc1.speed, writable: true}
              - {name: e, table: holding, address: 3, tag: modbus.plc1.temp, writable: true}
          master:
            devices:
              - name: plc1
                tcp: {host: 127.0.0.1}
                commands:
                  - {name: speed, function: readHolding, address: 0}
                  - {name: temp, function: readInput, address: 0}
        """
    found = problems(body)
    p = "spec.modbus.slave.zones"
    assert set(found) == {f"{p}.2.tag", f"{p}.4.tag"}, found
    assert "system.cpuPercent is read-only" in found[f"{p}.2.tag"][2]
    assert "modbus.plc1.temp is read-only" in found[f"{p}.4.tag"][2]


def test_validate_and_plan_do_not_load_pymodbus(tmp_path: Path) -> None:
    example = REPO / "examples" / "modbus-gateway.yaml"
    script = textwrap.dedent(
        f"""
        import sys
        from reconciler.cli import main
        codes = [main(["validate", {str(example)!r}]),
                 main(["plan", "--file", {str(example)!r}, "--state-dir", {str(tmp_path)!r}])]
        assert "pymodbus" not in sys.modules, "pymodbus was imported"
        print(codes)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[0, 2]"


def test_problem_lines_are_located() -> None:
    text = HEAD % "UNO-2484G" + "  " + zone("gpio.12.level").replace("\n", "\n  ")
    _, found = validate_device_document(parse_document(text, "f.yaml"))
    assert [str(p) for p in found] == [
        "f.yaml:8:52: spec.modbus.slave.zones.0.tag: UNO-2484G has GPIO pins 0..7, not '12'"
    ]
    assert isinstance(found[0], Problem)
