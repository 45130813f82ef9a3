"""Failure behaviour: a failed area stops the apply at a safe point and the next apply
converges; SIGKILL mid-apply leaves a state the next run converges from; two concurrent
applies never corrupt the state; drift shows up as exactly the drifted change."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from testkit import reconcile_cmd, subprocess_env

SPEC = """apiVersion: reconciler/v1
kind: Device
metadata: {name: press-line-07, model: UNO-2484G, labels: {site: plant-a}}
spec:
  system: {hostname: press-line-07, timezone: Europe/Berlin}
  access:
    roles:
      - {name: viewer, permissions: ["status:read"]}
    users:
      - {name: monitor, roles: [viewer], password: {secretRef: monitor-password}}
  gpio:
    pins:
      0: {direction: output, level: high}
  leds: {0: "on", 1: "on"}
  watchdog: {enabled: true, timeoutSeconds: 30}
"""


def write_spec(tmp_path: Path, text: str = SPEC) -> Path:
    path = tmp_path / "press-line-07.yaml"
    path.write_text(text)
    return path


def sim_state(state_dir: Path) -> dict:
    return json.loads((state_dir / "sim" / "device.json").read_text())["state"]


def test_failed_area_stops_apply_and_next_apply_converges(
    cli, tmp_path: Path, state_dir: Path, secrets_dir: Path
) -> None:
    spec = write_spec(tmp_path)
    common = ("-f", spec, "--state-dir", state_dir, "--secrets-dir", secrets_dir)
    assert cli("plan", *common).code == 2  # creates the simulated device
    assert cli("sim", "--state-dir", state_dir, "fault", "gpio", "once").code == 0

    failed = cli("apply", *common, "--yes")
    assert failed.code == 1
    assert "gpio: injected fault" in failed.err
    assert "The next apply continues" in failed.err
    state = sim_state(state_dir)
    # Areas before gpio were applied; gpio and everything after it were not.
    assert state["system"]["hostname"] == "press-line-07"
    assert state["gpio"]["pins"]["0"]["direction"] == "input"
    assert state["leds"]["0"] == "off" and state["watchdog"]["enabled"] is False

    history = cli("history", "--state-dir", state_dir, "--show", "1")
    results = {c["path"]: c["status"] for c in json.loads(history.out)["changes"]}
    assert results["system.hostname"] == "applied"
    assert results["gpio.pins.0.direction"] == "failed"
    assert results["leds.0"] == "skipped"

    remaining = cli("plan", *common)
    assert remaining.code == 2
    assert "system.hostname" not in remaining.out and "gpio.pins.0.direction" in remaining.out
    assert cli("apply", *common, "--yes").code == 0
    assert cli("plan", *common).code == 0


def test_change_that_does_not_stick_is_a_failure(
    cli, tmp_path: Path, state_dir: Path, secrets_dir: Path
) -> None:
    spec = write_spec(tmp_path)
    common = ("-f", spec, "--state-dir", state_dir, "--secrets-dir", secrets_dir)
    cli("plan", *common)
    cli("sim", "--state-dir", state_dir, "fault", "leds", "ignore")
    result = cli("apply", *common, "--yes")
    assert result.code == 1
    assert "leds.0: the device does not report the change after applying it" in result.err
    history = json.loads(cli("history", "--state-dir", state_dir, "--json").out)
    assert history[0]["status"] == "failed"


def test_device_refusal_is_reported_and_changes_nothing(
    cli, tmp_path: Path, state_dir: Path, secrets_dir: Path
) -> None:
    """The sim enforces the device's own rules, like a real device's 400 answer: a level
    for a pin the device reports as an input is refused, reported, journaled."""
    common = ("--state-dir", state_dir, "--secrets-dir", secrets_dir)
    spec = tmp_path / "level.yaml"
    spec.write_text(
        "apiVersion: reconciler/v1\nkind: Device\nmetadata: {name: dev-1, model: UNO-2484G}\n"
        "spec:\n  gpio:\n    pins:\n      3: {level: high}\n"
    )
    assert cli("plan", "-f", spec, *common).code == 2
    cli("sim", "--state-dir", state_dir, "set", "gpio.pins.3", "{direction: input, level: low}")
    before = sim_state(state_dir)
    result = cli("apply", "-f", spec, *common, "--yes")
    assert result.code == 1
    assert "gpio: 400 Bad Request: cannot set the level of input pin 3" in result.err
    assert "Traceback" not in result.err
    history = json.loads(cli("history", "--state-dir", state_dir, "--json").out)
    assert history[0]["status"] == "failed" and "input pin 3" in history[0]["error"]
    assert sim_state(state_dir) == before


def test_sigkill_mid_apply_then_converges(
    cli, tmp_path: Path, state_dir: Path, secrets_dir: Path
) -> None:
    spec = write_spec(tmp_path)
    args = ["apply", "-f", str(spec), "--state-dir", str(state_dir)]
    args += ["--secrets-dir", str(secrets_dir), "--yes"]
    env = subprocess_env(RECONCILER_FAILPOINT="after-area:gpio")
    proc = subprocess.run(
        [*reconcile_cmd(), *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == -9, proc.stderr  # killed by SIGKILL at the failpoint

    state = sim_state(state_dir)  # still valid JSON: written atomically
    assert state["gpio"]["pins"]["0"]["direction"] == "output"
    assert state["leds"]["0"] == "off"

    history = json.loads(cli("history", "--state-dir", state_dir, "--json").out)
    assert history[0]["status"] == "interrupted"
    plan = cli("plan", "-f", spec, "--state-dir", state_dir, "--secrets-dir", secrets_dir)
    assert plan.code == 2 and "leds.0" in plan.out and "gpio" not in plan.out
    assert (
        cli(
            "apply", "-f", spec, "--state-dir", state_dir, "--secrets-dir", secrets_dir, "--yes"
        ).code
        == 0
    )
    final = cli("plan", "-f", spec, "--state-dir", state_dir, "--secrets-dir", secrets_dir)
    assert final.code == 0, final.text


def test_concurrent_applies_never_corrupt_state(
    tmp_path: Path, state_dir: Path, secrets_dir: Path
) -> None:
    spec = write_spec(tmp_path)
    (tmp_path / "other").mkdir()
    other = write_spec(tmp_path / "other", SPEC.replace("timeoutSeconds: 30", "timeoutSeconds: 45"))
    procs = []
    for i in range(6):
        path = spec if i % 2 else other
        args = ["apply", "-f", str(path), "--state-dir", str(state_dir)]
        args += ["--secrets-dir", str(secrets_dir), "--yes"]
        procs.append(
            subprocess.Popen(
                [*reconcile_cmd(), *args],
                env=subprocess_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outcomes = [(p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in procs]
    for code, err in outcomes:
        assert code == 0 or "another apply is running" in err, err
    assert any(code == 0 for code, _ in outcomes)
    state = sim_state(state_dir)
    assert state["watchdog"]["timeoutSeconds"] in (30, 45)
    db = sqlite3.connect(state_dir / "history.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    statuses = {row[0] for row in db.execute("SELECT status FROM applies")}
    assert statuses <= {"applied"}


def test_drift_appears_as_exactly_that_change(
    cli, tmp_path: Path, state_dir: Path, secrets_dir: Path
) -> None:
    spec = write_spec(tmp_path)
    common = ("-f", spec, "--state-dir", state_dir, "--secrets-dir", secrets_dir)
    assert cli("apply", *common, "--yes").code == 0
    assert cli("sim", "--state-dir", state_dir, "set", "watchdog.timeoutSeconds", "90").code == 0

    plan = cli("plan", *common, "--json")
    assert plan.code == 2
    changes = json.loads(plan.out)["changes"]
    assert [(c["path"], c["op"], c["before"], c["after"]) for c in changes] == [
        ("watchdog.timeoutSeconds", "replace", 90, 30)
    ]
    assert cli("apply", *common, "--yes").code == 0
    assert cli("plan", *common).code == 0
