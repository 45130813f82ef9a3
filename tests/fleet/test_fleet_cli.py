"""`reconcile fleet render` and `explain`: output a user reads or a script parses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fleetkit import REFERENCE_FLEET, device_yaml, fleet_runner, group_yaml, write_fleet

from reconciler.fleet.render import render_fleet_device
from reconciler.loader import parse_document


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_fleet(
        tmp_path / "fleet",
        groups={
            "gw": group_yaml(
                "gw",
                "{role: gw}",
                20,
                """\
                firewall:
                  inbound:
                    - {name: modbus, port: 502, protocol: tcp}
                watchdog: {timeoutSeconds: 30}
                """,
            )
        },
        devices={
            "d1": device_yaml(
                "d1",
                "{site: a, role: gw}",
                """\
                system: {ntp: null, hostname: d1}
                firewall:
                  inbound:
                    - {name: modbus, source: 10.0.0.0/8}
                """,
            ),
            "bad": device_yaml("bad", "{site: a}", "watchdog: {timeoutSeconds: 1}\n"),
        },
    )


def test_render_prints_the_effective_document(root: Path, capsys) -> None:
    fleet_cli = fleet_runner(capsys)
    result = fleet_cli("render", root, "d1")
    assert result.code == 0, result.err
    doc = parse_document(result.out, "<stdout>")
    assert doc.data == render_fleet_device(root, "d1").data
    assert doc.data["spec"]["firewall"]["inbound"] == [
        {"name": "modbus", "port": 502, "protocol": "tcp", "source": "10.0.0.0/8"}
    ]
    assert "ntp" not in doc.data["spec"]["system"]


def test_render_show_origin_comments_each_value(root: Path, capsys) -> None:
    fleet_cli = fleet_runner(capsys)
    result = fleet_cli("render", root, "d1", "--show-origin")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "# effective spec of d1; groups: gw"

    def origin(prefix: str) -> str:
        line = next(x for x in lines if x.strip().startswith(prefix))
        return line.split("  # ", 1)[1]

    assert origin("timezone:") == f"{root}/fleet.yaml:5 (fleet defaults)"
    assert origin("timeoutSeconds:") == f"{root}/groups/gw.yaml:10 (group gw, priority 20)"
    assert origin("hostname:") == f"{root}/devices/d1.yaml:8 (device)"
    assert origin("port: 502") == f"{root}/groups/gw.yaml:9 (group gw, priority 20)"
    assert origin("source:") == f"{root}/devices/d1.yaml:11 (device)"
    # Still YAML, with the same data.
    assert parse_document(result.out, "<stdout>").data == render_fleet_device(root, "d1").data


def test_render_json_with_origins(root: Path, capsys) -> None:
    fleet_cli = fleet_runner(capsys)
    result = fleet_cli("render", root, "d1", "--json", "--show-origin")
    data = json.loads(result.out)
    assert data["device"]["metadata"]["name"] == "d1"
    chain = data["origins"]["spec.watchdog.timeoutSeconds"]
    assert [o["layer"] for o in chain] == ["fleet", "group:gw"]


def test_render_refuses_an_invalid_device(root: Path, capsys) -> None:
    fleet_cli = fleet_runner(capsys)
    result = fleet_cli("render", root, "bad")
    assert result.code == 1
    assert result.out == ""
    assert re.search(
        r"devices/bad\.yaml:8:\d+: spec\.watchdog\.timeoutSeconds: 1 is outside", result.err
    )
    forced = fleet_cli("render", root, "bad", "--allow-invalid")
    assert forced.code == 1
    assert "timeoutSeconds: 1" in forced.out


def test_explain_shows_the_chain(root: Path, capsys) -> None:
    fleet_cli = fleet_runner(capsys)
    result = fleet_cli("explain", root, "d1", "spec.watchdog.timeoutSeconds")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "spec.watchdog.timeoutSeconds = 30"
    assert re.match(rf"  set +{root}/fleet.yaml:7:\d+ +fleet defaults: 60$", lines[1])
    assert re.match(
        rf"  override +{root}/groups/gw.yaml:10:\d+ +group gw, priority 20: 30  <- in effect$",
        lines[2],
    )


def test_explain_named_items_removed_values_and_json(root: Path, capsys) -> None:
    fleet_cli = fleet_runner(capsys)
    result = fleet_cli("explain", root, "d1", "spec.firewall.inbound.modbus", "--json")
    data = json.loads(result.out)
    assert data["path"] == "spec.firewall.inbound.modbus"
    assert data["value"]["source"] == "10.0.0.0/8"
    assert [(s["layer"], s["action"]) for s in data["chain"]] == [
        ("group:gw", "set"),
        ("device", "merge"),
    ]
    removed = fleet_cli("explain", root, "d1", "spec.system.ntp")
    assert removed.code == 0
    assert removed.out.splitlines()[0] == "spec.system.ntp: removed"
    assert "remove" in removed.out and "device: null" in removed.out
    missing = fleet_cli("explain", root, "d1", "spec.leds.3")
    assert missing.code == 1
    assert "no layer sets 'spec.leds.3'" in missing.err


def test_explain_in_the_reference_fleet(capsys) -> None:
    fleet_cli = fleet_runner(capsys)
    result = fleet_cli(
        "explain", REFERENCE_FLEET, "cold-store-01", "spec.modbus.slave.zones.cpu.address"
    )
    assert result.code == 0, result.err
    assert "modbus-gateways.yaml" in result.out and "cold-store-01.yaml" in result.out
    assert result.out.splitlines()[0] == "spec.modbus.slave.zones.cpu.address = 20"


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b", ".."])
def test_bad_device_names_on_the_command_line(root: Path, capsys, name: str) -> None:
    fleet_cli = fleet_runner(capsys)
    for command in (["render", root, name], ["explain", root, name, "spec"]):
        result = fleet_cli(*command)
        assert result.code == 1
        assert "invalid device name" in result.err
        assert "Traceback" not in result.err


def test_explain_takes_the_plans_paths_and_suggests(capsys) -> None:
    """`plan` prints `system.timezone` and `access.users[monitor]`: explain takes those too."""
    fleet_cli = fleet_runner(capsys)
    plain = fleet_cli("explain", REFERENCE_FLEET, "press-line-01", "system.timezone")
    assert plain.code == 0, plain.err
    assert plain.out.splitlines()[0] == 'spec.system.timezone = "Europe/Berlin"'
    item = fleet_cli("explain", REFERENCE_FLEET, "press-line-01", "access.users[monitor].roles")
    assert item.code == 0, item.err
    assert item.out.splitlines()[0] == 'spec.access.users.monitor.roles = ["viewer"]'
    typo = fleet_cli("explain", REFERENCE_FLEET, "press-line-01", "system.timezon")
    assert typo.code == 1
    assert "did you mean 'spec.system.timezone'?" in typo.err
