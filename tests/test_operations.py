"""Declared one-shot operations on sim, through the installed entry point: planned once
with their risk, run once, renamed to run again, held by a closed maintenance window,
deferred by a held update lock; their results in history and `reconcile status`."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from pathlib import Path

from testkit import reconcile_cmd, subprocess_env

HEAD = "apiVersion: reconciler/v1\nkind: Device\nmetadata: {name: gw, model: AIG-302}\nspec:\n"
FLEET = "apiVersion: reconciler/v1\nkind: Fleet\nspec: {}\n"
CLOSED = '  update:\n    maintenanceWindow: {cron: "0 3 1 1 *", durationMinutes: 5}\n'


def run(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*reconcile_cmd(), *(str(a) for a in args)],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=120,
    )


def spec(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "gw.yaml"
    path.write_text(HEAD + body)
    return path


def recorded(state: Path) -> list[dict[str, object]]:
    device = json.loads((state / "sim" / "device.json").read_text())
    return list(device["state"].get("operations", []))


def test_run_once_not_replanned_renamed_runs_again_removed_plans_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    body = (
        "  operations:\n"
        "    - {name: bios-reboot-2026-12, action: reboot}\n"
        "    - {name: restart-collector-3, action: restartService, service: collector}\n"
        "    - {name: find-me, action: blink}\n"
        "    - {name: later, action: blink, notBefore: '2999-01-01T00:00:00Z'}\n"
    )
    file = spec(tmp_path, body)
    plan = run("plan", "-f", file, "--state-dir", state)
    assert plan.returncode == 2, plan.stderr
    lines = {line.split(":")[0].strip(): line for line in plan.stdout.splitlines() if "+ " in line}
    assert lines["+ operations[bios-reboot-2026-12]"].endswith("(reboot)")
    assert lines["+ operations[restart-collector-3]"].endswith("(disruptive)")
    assert not lines["+ operations[find-me]"].endswith(")")  # risk none: nothing printed
    assert "later" not in plan.stdout  # notBefore in the future: not planned yet

    applied = run("apply", "-f", file, "--state-dir", state, "--yes")
    assert applied.returncode == 0, applied.stderr
    runs = recorded(state)
    assert [(r["name"], r["action"], r["result"]) for r in runs] == [
        ("bios-reboot-2026-12", "reboot", "ok"),
        ("restart-collector-3", "restartService", "ok"),
        ("find-me", "blink", "ok"),
    ]
    assert all(str(r["at"]).endswith("Z") for r in runs)
    again = run("plan", "-f", file, "--state-dir", state)
    assert again.returncode == 0 and "No changes" in again.stdout, again.stdout

    renamed = spec(tmp_path, body.replace("find-me", "find-me-2"))
    plan = run("plan", "-f", renamed, "--state-dir", state, "--json")
    changes = json.loads(plan.stdout)["changes"]
    assert [(c["path"], c["op"], c["risk"]) for c in changes] == [
        ("operations[find-me-2]", "add", "none")
    ]
    assert run("apply", "-f", renamed, "--state-dir", state, "--yes").returncode == 0
    assert [r["name"] for r in recorded(state)][-1] == "find-me-2"

    removed = spec(tmp_path, "  operations: []\n")
    plan = run("plan", "-f", removed, "--state-dir", state)
    assert plan.returncode == 0 and "No changes" in plan.stdout, plan.stdout

    history = json.loads(run("history", "--state-dir", state, "--show", "1").stdout)
    assert {(c["path"], c["status"]) for c in history["changes"]} == {
        ("operations[bios-reboot-2026-12]", "applied"),
        ("operations[restart-collector-3]", "applied"),
        ("operations[find-me]", "applied"),
    }


def _fleet(tmp_path: Path, body: str) -> Path:
    fleet = tmp_path / "fleet"
    (fleet / "devices").mkdir(parents=True, exist_ok=True)
    (fleet / "fleet.yaml").write_text(FLEET)
    (fleet / "devices" / "gw.yaml").write_text(HEAD + body)
    return fleet


def _agent(fleet: Path, state: Path) -> subprocess.CompletedProcess[str]:
    return run(
        "agent", "--source", fleet, "--device", "gw", "--state-dir", state, "--once",
        "--log-level", "error",
    )  # fmt: skip


def test_closed_window_holds_a_reboot_while_a_blink_runs(tmp_path: Path) -> None:
    state = tmp_path / "state"
    body = (
        "  operations:\n"
        "    - {name: reboot-1, action: reboot}\n"
        "    - {name: blink-1, action: blink}\n"
        "    - {name: restart-1, action: restartService, service: collector, window: true}\n"
        + CLOSED
    )
    fleet = _fleet(tmp_path, body)
    first = _agent(fleet, state)
    assert first.returncode == 2, first.stdout + first.stderr
    assert first.stdout.startswith("OutOfSync"), first.stdout
    assert [r["name"] for r in recorded(state)] == ["blink-1"]
    status = json.loads((state / "status.json").read_text())
    assert {(w["path"], w["risk"]) for w in status["waiting"]} == {
        ("operations[reboot-1]", "reboot"),
        ("operations[restart-1]", "disruptive"),
    }
    shown = run("status", "--state-dir", state)
    assert "waiting:       operations[reboot-1] (reboot)" in shown.stdout, shown.stdout
    # window: false lets a reboot run outside the window
    body = body.replace("action: reboot}", "action: reboot, window: false}")
    (fleet / "devices" / "gw.yaml").write_text(HEAD + body)
    assert _agent(fleet, state).returncode == 2
    assert [r["name"] for r in recorded(state)] == ["blink-1", "reboot-1"]
    status = json.loads((state / "status.json").read_text())
    assert [o["name"] for o in status["operations"]] == ["blink-1", "reboot-1"]


def test_held_update_lock_defers_a_reboot_until_released(tmp_path: Path) -> None:
    state = tmp_path / "state"
    body = "  operations:\n    - {name: reboot-1, action: reboot, window: false}\n"
    fleet = _fleet(tmp_path, body)
    assert run("sim", "--model", "AIG-302", "--state-dir", state, "reset").returncode == 0
    fd = os.open(state / "sim" / "update.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        held = _agent(fleet, state)
        assert held.returncode == 2, held.stdout + held.stderr
        assert held.stdout.startswith("OutOfSync (Deferred)"), held.stdout
        assert "deferred: update lock" in held.stdout and f"pid {os.getpid()}" in held.stdout
        assert recorded(state) == []
        history = json.loads(run("history", "--state-dir", state, "--json").stdout)
        assert history[0]["status"] == "deferred"
        shown = json.loads(run("history", "--state-dir", state, "--show", "1").stdout)
        assert shown["changes"][0]["status"] == "deferred"
        assert "update lock" in shown["changes"][0]["error"]
        applied = run("apply", "-f", fleet / "devices" / "gw.yaml", "--state-dir", state, "--yes")
        assert applied.returncode == 1 and "deferred" in applied.stderr
    finally:
        os.close(fd)
    released = _agent(fleet, state)
    assert released.returncode == 0, released.stdout + released.stderr
    assert [(r["name"], r["result"]) for r in recorded(state)] == [("reboot-1", "ok")]
    status = run("status", "--state-dir", state)
    assert "sync state:    Synced" in status.stdout
    assert "operation:     reboot-1 (reboot) ok at " in status.stdout, status.stdout
    as_json = json.loads(run("status", "--state-dir", state, "--json").stdout)
    assert [(o["name"], o["result"]) for o in as_json["operations"]] == [("reboot-1", "ok")]
