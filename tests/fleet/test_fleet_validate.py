"""`reconcile fleet validate`: repo-wide checks, output formats, the worker pool."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fleetkit import REFERENCE_FLEET, REPO, device_yaml, fleet_runner, group_yaml, write_fleet

from reconciler.fleet.validate import PARALLEL_MIN_DEVICES, validate_fleet

POLICY_FLEET = """\
apiVersion: reconciler/v1
kind: Fleet
policy:
  requiredLabels: [site, role]
  requireSiteGroup: true
spec:
  watchdog: {enabled: true}
"""


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """One of each repo-level mistake, plus a bad value written in a group."""
    return write_fleet(
        tmp_path / "fleet",
        fleet=POLICY_FLEET,
        groups={
            "plant-a": group_yaml(
                "plant-a", "{site: plant-a}", 10, "watchdog: {timeoutSeconds: 120}\n"
            ),
            "unused": group_yaml("unused", "{site: mars}", 10, "leds: {0: on}\n"),
        },
        devices={
            "ok-1": device_yaml("ok-1", "{site: plant-a, role: gw}"),
            "aig": device_yaml("aig", "{site: plant-a, role: gw}", model="AIG-302"),
            "aig-2": device_yaml("aig-2", "{site: plant-a, role: gw}", model="AIG-302"),
            "renamed": device_yaml("other-name", "{site: plant-a, role: gw}"),
            "ok-2": device_yaml("ok-1", "{site: plant-a, role: gw}"),
            "typo-site": device_yaml("typo-site", "{site: plant_a, role: gw}"),
            "no-role": device_yaml("no-role", "{site: plant-a}"),
        },
    )


def test_reference_fleet_is_valid(capsys) -> None:
    fleet_cli = fleet_runner(capsys)
    result = fleet_cli("validate", REFERENCE_FLEET)
    assert result.code == 0, result.err
    assert result.err == ""
    assert "0 errors, 0 warnings: valid" in result.out


def test_every_problem_in_one_run(broken: Path, capsys) -> None:
    fleet_cli = fleet_runner(capsys)
    result = fleet_cli("validate", broken)
    assert result.code == 1
    lines = result.err.splitlines()
    text = result.err

    def at(rel: str) -> list[str]:
        return [line for line in lines if line.startswith(str(broken / rel) + ":")]

    # A bad value written once in a group: reported once, in the group, naming the devices.
    (wdt,) = at("groups/plant-a.yaml")
    assert ":7:30: spec.watchdog.timeoutSeconds: 120 is outside AIG-302's" in wdt
    assert "[2 devices: aig, aig-2]" in wdt
    assert "does not match metadata.name 'other-name'" in " ".join(at("devices/renamed.yaml"))
    dup = " ".join(at("devices/ok-2.yaml"))
    assert "duplicate device name 'ok-1'" in dup and str(broken / "devices/ok-1.yaml") in dup
    assert "no group selects site 'plant_a'" in " ".join(at("devices/typo-site.yaml"))
    assert "missing label 'role'" in " ".join(at("devices/no-role.yaml"))
    (unused,) = at("groups/unused.yaml")
    assert "warning: selector: selector {site: mars} matches no device" in unused
    assert text.count("\n") == len(lines)
    assert "7 devices, 2 groups: 6 errors, 1 warnings: invalid" in result.out


def test_warnings_alone_pass_unless_strict(tmp_path: Path, capsys) -> None:
    fleet_cli = fleet_runner(capsys)
    root = write_fleet(
        tmp_path,
        groups={"g": group_yaml("g", "{site: nowhere}", 1, "leds: {0: on}\n")},
        devices={"d": device_yaml("d", "{site: a}")},
    )
    assert fleet_cli("validate", root).code == 0
    assert fleet_cli("validate", root, "--strict").code == 1


def test_json_report(broken: Path, capsys) -> None:
    fleet_cli = fleet_runner(capsys)
    result = fleet_cli("validate", broken, "--format", "json")
    assert result.code == 1
    report = json.loads(result.out)
    assert report["valid"] is False
    assert (report["devices"], report["groups"], report["errors"]) == (7, 2, 6)
    wdt = next(p for p in report["problems"] if p["path"] == "spec.watchdog.timeoutSeconds")
    assert wdt["devices"] == ["aig", "aig-2"]
    assert wdt["line"] == 7 and wdt["file"].endswith("groups/plant-a.yaml")


def test_junit_report_parses(broken: Path, capsys, tmp_path: Path) -> None:
    fleet_cli = fleet_runner(capsys)
    out = tmp_path / "report.xml"
    result = fleet_cli("validate", broken, "--format", "junit", "--output", out)
    assert result.code == 1
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites"
    (suite,) = root
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    failed = {key for key, case in cases.items() if case.find("failure") is not None}
    assert failed == {
        ("groups", "plant-a"),
        ("devices", "aig"),
        ("devices", "aig-2"),
        ("devices", "other-name"),
        ("devices", "ok-1 (devices/ok-2.yaml)"),  # the second file claiming the name
        ("devices", "typo-site"),
        ("devices", "no-role"),
    }
    assert int(suite.get("failures") or 0) == len(failed)
    assert int(suite.get("tests") or 0) == len(cases) == 1 + 2 + 7
    assert "timeoutSeconds" in (cases[("devices", "aig")].find("failure").text or "")
    assert "matches no device" in (cases[("groups", "unused")].findtext("system-out") or "")
    # To stdout as well, and valid XML for a valid fleet too.
    ok = fleet_cli("validate", REFERENCE_FLEET, "--format", "junit")
    assert ok.code == 0
    assert ET.fromstring(ok.out.encode()).find("testsuite").get("failures") == "0"


def test_worker_pool_gives_the_same_report(tmp_path: Path) -> None:
    n = PARALLEL_MIN_DEVICES + 50
    devices = {
        f"d{i}": device_yaml(
            f"d{i}", "{site: a}", "watchdog: {timeoutSeconds: 5}\n" if i % 97 == 0 else ""
        )
        for i in range(n)
    }
    root = write_fleet(
        tmp_path,
        groups={"a": group_yaml("a", "{site: a}", 1, "system: {timezone: UTC}\n")},
        devices=devices,
    )
    serial = validate_fleet(root, jobs=1)
    pooled = validate_fleet(root, jobs=2)
    assert len(pooled.devices) == n
    assert pooled.problems == serial.problems
    assert len(pooled.errors) == len([i for i in range(n) if i % 97 == 0])


def test_not_a_directory_is_one_sentence(tmp_path: Path, capsys) -> None:
    fleet_cli = fleet_runner(capsys)
    result = fleet_cli("validate", tmp_path / "nope")
    assert result.code == 1
    assert result.err.strip().endswith("fleet root does not exist")
    assert "Traceback" not in result.err
    empty = fleet_cli("validate", tmp_path)
    assert empty.code == 1
    assert "no fleet.yaml: not a fleet root" in empty.err


def test_installed_entry_point_validates_the_reference_fleet() -> None:
    exe = REPO / ".venv" / "bin" / "reconcile"
    if not exe.exists():
        pytest.skip("no installed entry point")
    proc = subprocess.run(
        [str(exe), "fleet", "validate", str(REFERENCE_FLEET), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["valid"] is True
