"""The gateway doc's Modbus fields beyond the register map: zones with tags[] / refTags[]
(today's single `tag` stays valid), the TCP slave's keepAliveTime and provider name, and the
slave/master log levels; each problem located at its field, and a sim plan/apply."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testkit import HEADER, one_problem, validate

ZONE = "modbus:\n  slave:\n    zones:\n      - "  # the zone is on line 8


def test_doc_fields_load() -> None:
    result = validate("""\
        modbus:
          slave:
            tcp: {port: 5020, keepAliveTime: 20, name: press_7~tcp.slave}
            logLevel: DEBUG
            zones:
              - {name: pins, table: coils, address: 0, tags: [gpio.0.level, gpio.1.level]}
              - {name: temps, table: input, address: 0, dataType: float32,
                 tags: [system.cpuPercent, system.memoryPercent]}
              - {name: refs, table: holding, address: 10, quantity: 4,
                 refTags: [{tag: watchdog.timeoutSeconds, address: 12}]}
              - {name: one, table: input, address: 20, tag: system.cpuPercent}
          master: {logLevel: "OFF"}
        """, model="UNO-2484G")  # fmt: skip
    assert result.problems == []
    assert result.spec is not None and result.spec.spec.modbus is not None
    slave = result.spec.spec.modbus.slave
    assert slave is not None and slave.zones is not None and slave.tcp is not None
    assert (slave.tcp.keep_alive_time, slave.tcp.name) == (20, "press_7~tcp.slave")
    assert [z.size for z in slave.zones] == [2, 4, 4, 1]
    served = [(z.name, z.tag, z.address, z.size) for z in slave.served_zones()]
    assert served == [
        ("pins.0", "gpio.0.level", 0, 1),
        ("pins.1", "gpio.1.level", 1, 1),
        ("temps.0", "system.cpuPercent", 0, 2),
        ("temps.1", "system.memoryPercent", 2, 2),
        ("refs.watchdog.timeoutSeconds", "watchdog.timeoutSeconds", 12, 1),
        ("one", "system.cpuPercent", 20, 1),
    ]


@pytest.mark.parametrize(
    ("zone", "token", "path", "fragment"),
    [
        ("{name: a, table: input, address: 0, tag: system.cpuPercent, tags: [system.uptime]}",
         "[system", "tags", "give one of tag, tags or refTags, not tag and tags"),
        ("{name: a, table: input, address: 0, tags: [system.cpuPercent], quantity: 3}",
         "3}", "quantity", "1 tags of uint16 cover 1, not 3"),
        ("{name: a, table: holding, address: 0, quantity: 4, dataType: string,"
         " tags: [system.hostname]}",
         "string", "dataType", "a string zone takes one tag"),
        ("{name: a, table: input, address: 0, refTags: [{tag: system.cpuPercent, address: 0}]}",
         "[{tag", "refTags", "refTags need quantity"),
        ("{name: a, table: input, address: 0, quantity: 2, refTags: [{tag: system.cpuPercent,"
         " address: 2}]}", "2}]", "refTags.0.address", "outside the zone (0..1)"),
        ("{name: a, table: input, address: 0, quantity: 4, dataType: uint32, refTags: [{tag:"
         " system.cpuPercent, address: 0}, {tag: system.uptimeSeconds, address: 1}]}",
         "1}]", "refTags.1.address", "overlaps an earlier refTag"),
        ("{name: a, table: input, address: 0, tags: [system.cpuPercent, gpoi.0.level]}",
         "gpoi", "tags.1", "did you mean 'gpio'"),
        ("{name: a, table: holding, address: 0, quantity: 2, writable: true, refTags: [{tag:"
         " system.cpuPercent, address: 1}]}", "system", "refTags.0.tag", "is read-only"),
    ],
)  # fmt: skip
def test_zone_tag_lists_are_checked(zone: str, token: str, path: str, fragment: str) -> None:
    one_problem(ZONE + zone + "\n").at(
        0, 8, token, "spec.modbus.slave.zones.0" + (f".{path}" if path else ""), fragment
    )


@pytest.mark.parametrize(
    ("body", "token", "path", "fragment"),
    [
        ("modbus:\n  slave:\n    tcp: {keepAliveTime: 100}\n", "100",
         "spec.modbus.slave.tcp.keepAliveTime", "less than or equal to 99"),
        ("modbus:\n  slave:\n    tcp: {name: 'press 7'}\n", "'press 7'",
         "spec.modbus.slave.tcp.name", "should match pattern"),
        ("modbus:\n  slave:\n    tcp: {name: pressé_7}\n", "pressé_7",
         "spec.modbus.slave.tcp.name", "should match pattern"),  # the doc's ALPHA is ASCII
        ("modbus:\n  slave:\n    logLevel: VERBOSE\n", "VERBOSE",
         "spec.modbus.slave.logLevel", "'ALL', 'TRACE', 'DEBUG'"),
        ("modbus:\n  master:\n    loglevel: INFO\n", "loglevel",
         "spec.modbus.master.loglevel", "did you mean 'logLevel'"),
    ],
)  # fmt: skip
def test_slave_and_master_fields_are_checked(
    body: str, token: str, path: str, fragment: str
) -> None:
    one_problem(body).at(0, 7, token, path, fragment)


def test_sim_plans_and_applies_the_doc_fields(cli: Callable[..., Any], tmp_path: Path) -> None:
    spec = tmp_path / "gw.yaml"
    spec.write_text(HEADER % "UNO-2484G" + """\
  modbus:
    slave:
      tcp: {port: 5020, keepAliveTime: 20, name: line7}
      logLevel: WARN
      zones:
        - {name: pins, table: coils, address: 0, tags: [gpio.0.level, gpio.1.level]}
""")  # fmt: skip
    args = ("--file", spec, "--state-dir", tmp_path / "state")
    planned = cli("plan", *args)
    assert planned.code == 2, planned.text
    assert "keepAliveTime: 20" in planned.out and 'logLevel: "WARN"' in planned.out
    assert cli("apply", *args, "--yes").code == 0
    assert cli("plan", *args).code == 0
    spec.write_text(spec.read_text().replace("keepAliveTime: 20", "keepAliveTime: 0"))
    changed = cli("plan", *args)
    assert changed.code == 2 and "~ modbus.slave.tcp.keepAliveTime: 20 -> 0" in changed.out
