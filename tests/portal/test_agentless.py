"""Agentless fleet runs: 200 emulated units (one ASGI app, routed by path prefix) and one
unreachable device, reconciled from this host in one `--all` run."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from portalkit import free_port, serve, write_secret
from testkit import reconcile_cmd, subprocess_env

from reconciler.drivers.portal.emulator import PortalEmulator

UNITS = 200


def device_file(name: str, url: str, ring: str) -> str:
    return f"""\
apiVersion: reconciler/v1
kind: Device
metadata:
  name: {name}
  model: UNO-2484G
  labels: {{ring: {ring}}}
  connection: {{backend: portal, url: "{url}", credentials: {{secretRef: unit-login}}}}
spec:
  watchdog: {{enabled: true, timeoutSeconds: 30}}
  leds: {{0: "on"}}
  services: {{telnet: stopped}}
"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, PortalEmulator]]:
    root = tmp_path_factory.mktemp("agentless")
    (root / "devices").mkdir()
    (root / "fleet.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Fleet\nmetadata: {name: portal-lab}\n"
    )
    (root / "devices" / "no-connection.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Device\n"
        "metadata: {name: no-connection, model: UNO-2484G, labels: {ring: a}}\n"
    )
    secrets = root / "secrets"
    secrets.mkdir(mode=0o700)
    write_secret(secrets, "unit-login", "operator:os-pass-1")
    app = PortalEmulator.fleet(UNITS)
    with serve(app) as url:
        for i in range(UNITS):
            path = root / "devices" / f"unit-{i:03}.yaml"
            path.write_text(device_file(f"unit-{i:03}", f"{url}/d/{i}", "a"))
        dead = f"http://127.0.0.1:{free_port()}"
        (root / "devices" / "unit-dead.yaml").write_text(device_file("unit-dead", dead, "b"))
        yield root, app


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*reconcile_cmd(), *args, "--fleet", str(root), "--all",
         "--state-dir", str(root / "state"), "--secrets-dir", str(root / "secrets")],
        capture_output=True, text=True, env=subprocess_env(), timeout=900,
    )  # fmt: skip


def test_plan_all_apply_all_one_unreachable(fleet: tuple[Path, PortalEmulator]) -> None:
    root, app = fleet
    plan = run(root, "plan", "--selector", "ring=a")
    assert plan.returncode == 2, plan.stderr
    assert plan.stdout.splitlines()[0].split() == ["DEVICE", "CHANGES", "RESULT", "SECONDS"]
    assert plan.stdout.count(" changes ") == UNITS
    assert "no-connection" not in plan.stdout  # no metadata.connection: not driven from here
    assert all(not d.writes for d in app.devices.values())  # plans wrote nothing

    applied = run(root, "apply", "--yes", "--concurrency", "50", "--json")
    assert applied.returncode == 1, applied.stderr
    report = json.loads(applied.stdout)
    assert report["summary"] == {"converged": 0, "changes": 0, "applied": UNITS, "failed": 1}
    dead = next(d for d in report["devices"] if d["device"] == "unit-dead")
    assert dead["result"] == "failed" and "cannot reach" in dead["error"]
    assert all(d["changes"] == 4 for d in report["devices"] if d["device"] != "unit-dead")
    for dev in app.devices.values():
        assert dev.wdt["enabled"] and dev.leds[0] and dev.services["telnet"] == "stopped"

    again = run(root, "plan", "--selector", "ring=a")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count(" converged ") == UNITS
    with_dead = run(root, "plan")
    assert with_dead.returncode == 1
    assert "unit-dead: login: cannot reach 127.0.0.1" in with_dead.stdout

    one = root / "state" / "devices" / "unit-007"
    history = subprocess.run(
        [*reconcile_cmd(), "history", "--json", "--state-dir", str(one)],
        capture_output=True, text=True, env=subprocess_env(), timeout=120,
    )  # fmt: skip
    records = json.loads(history.stdout)
    assert [r["status"] for r in records] == ["applied"]


def test_bad_selector_and_apply_without_yes_are_one_clear_error(
    fleet: tuple[Path, PortalEmulator],
) -> None:
    root, _ = fleet
    result = run(root, "plan", "--selector", "ring")
    assert result.returncode == 1 and "key=value" in result.stderr
    result = run(root, "apply")
    assert result.returncode == 1 and "--yes" in result.stderr
