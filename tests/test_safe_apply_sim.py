"""The engine's safe apply on the simulated device, through the installed entry point: a
connectivity change that loses a must-reach target is reverted and the revert is in the
apply's history, also when the applying process was killed and the guard did it."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from testkit import reconcile_cmd, subprocess_env

SPEC = """apiVersion: reconciler/v1
kind: Device
metadata: {{name: press-line-07, model: UNO-2484G}}
spec:
  agent: {{mustReach: ["127.0.0.1:{port}"]}}
  system: {{hostname: press-line-07}}
  firewall:
    inbound:
      - {{name: ssh, port: 22, protocol: tcp}}
      - {{name: modbus, port: 502, protocol: tcp}}
  leds: {{0: "on"}}
"""


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP port on loopback that answers (the must-reach target)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as server:
        return int(server.getsockname()[1])  # closed again: nothing answers there


def _setup(tmp_path: Path, state_dir: Path, port: int, window: float, guard: bool) -> Path:
    spec = tmp_path / "press-line-07.yaml"
    spec.write_text(SPEC.format(port=port))
    options = {"confirmWindow": window, "probeInterval": 0.1, "guard": guard}
    (state_dir / "sim").mkdir(parents=True, exist_ok=True)
    (state_dir / "sim" / "options.json").write_text(json.dumps(options))
    return spec


def _inbound(state_dir: Path) -> list[str]:
    state = json.loads((state_dir / "sim" / "device.json").read_text())["state"]
    return [rule["name"] for rule in state["firewall"]["inbound"]]


def _apply(spec: Path, state_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    args = [*reconcile_cmd(), "apply", "-f", str(spec), "--state-dir", str(state_dir), "--yes"]
    return subprocess.run(
        args, env=subprocess_env(**env), capture_output=True, text=True, timeout=120
    )


def _show(state_dir: Path, apply_id: int) -> dict[str, list[dict[str, str]]]:
    args = [*reconcile_cmd(), "history", "--state-dir", str(state_dir), "--show", str(apply_id)]
    out = subprocess.run(args, env=subprocess_env(), capture_output=True, text=True, timeout=60)
    return dict(json.loads(out.stdout))


def test_lost_reach_reverts_and_history_says_so(tmp_path: Path, state_dir: Path) -> None:
    spec = _setup(tmp_path, state_dir, _closed_port(), window=0.5, guard=False)
    result = _apply(spec, state_dir)
    assert result.returncode == 1
    assert "reverted automatically" in result.stderr
    assert _inbound(state_dir) == ["ssh", "https"]  # the factory rules, restored
    statuses = {c["path"]: (c["status"], c["error"]) for c in _show(state_dir, 1)["changes"]}
    assert statuses["system.hostname"][0] == "applied"
    assert statuses["firewall.inbound[modbus]"][0] == "reverted"
    assert "reverted by the apply: lost reach" in statuses["firewall.inbound[modbus]"][1]
    assert statuses["leds.0"][0] == "skipped"
    history = subprocess.run(
        [*reconcile_cmd(), "history", "--state-dir", str(state_dir), "--json"],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(history.stdout)[0]["status"] == "reverted"


def test_reach_kept_confirms_the_change(
    tmp_path: Path, state_dir: Path, listener: socket.socket
) -> None:
    spec = _setup(tmp_path, state_dir, listener.getsockname()[1], window=5.0, guard=False)
    result = _apply(spec, state_dir)
    assert result.returncode == 0, result.stderr
    assert _inbound(state_dir) == ["ssh", "https", "modbus"]
    assert {c["status"] for c in _show(state_dir, 1)["changes"]} == {"applied"}
    assert not list((state_dir / "pending").iterdir())


def test_the_guard_reverts_a_killed_apply_and_records_it(tmp_path: Path, state_dir: Path) -> None:
    """SIGKILL inside the confirm window: nobody confirms, the detached guard restores the
    firewall at the end of the window and the revert is part of the apply's history."""
    spec = _setup(tmp_path, state_dir, _closed_port(), window=2.0, guard=True)
    result = _apply(spec, state_dir, RECONCILER_FAILPOINT="in-window:firewall")
    assert result.returncode == -9, result.stderr
    assert _inbound(state_dir) == ["ssh", "https", "modbus"]  # applied, unconfirmed
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        changes = {c["path"]: c for c in _show(state_dir, 1)["changes"]}
        if changes["firewall.inbound[modbus]"]["status"] == "reverted":
            break
        time.sleep(0.2)
    assert changes["firewall.inbound[modbus]"]["status"] == "reverted"
    assert "reverted by the guard" in changes["firewall.inbound[modbus]"]["error"]
    assert changes["leds.0"]["status"] == "interrupted"
    assert _inbound(state_dir) == ["ssh", "https"]


# --- commit-confirmed: `apply --confirm SECONDS` and `reconcile confirm` -------------------

CONFIRM_SPEC = """apiVersion: reconciler/v1
kind: Device
metadata: {name: press-line-07, model: UNO-2484G}
spec:
  firewall:
    inbound:
      - {name: ssh, port: 22, protocol: tcp}
      - {name: modbus, port: 502, protocol: tcp}
  leds: {0: "on"}
"""


def _reconcile(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*reconcile_cmd(), *args], env=subprocess_env(), capture_output=True, text=True, timeout=120
    )


def _guards_of(state_dir: Path) -> list[psutil.Process]:
    pending = str(state_dir / "pending")
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "reconciler.engine.guard" in cmdline and any(pending in a for a in cmdline):
            found.append(proc)
    return found


def _apply_confirm(tmp_path: Path, state_dir: Path, seconds: str) -> dict[str, Any]:
    spec = tmp_path / "press-line-07.yaml"
    spec.write_text(CONFIRM_SPEC)
    args = ["apply", "-f", str(spec), "--state-dir", str(state_dir), "--yes", "--json"]
    run = _reconcile(*args, "--confirm", seconds)
    assert run.returncode == 0, run.stderr
    return dict(json.loads(run.stdout)["result"])


def test_unconfirmed_apply_is_reverted_by_the_guard(tmp_path: Path, state_dir: Path) -> None:
    result = _apply_confirm(tmp_path, state_dir, "2")
    assert [w["area"] for w in result["awaitingConfirm"]] == ["firewall"]
    assert _inbound(state_dir) == ["ssh", "https", "modbus"]  # applied, waiting
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _guards_of(state_dir):
        time.sleep(0.2)
    changes = {c["path"]: c for c in _show(state_dir, result["applyId"])["changes"]}
    assert changes["firewall.inbound[modbus]"]["status"] == "reverted"
    assert "not confirmed with `reconcile confirm`" in changes["firewall.inbound[modbus]"]["error"]
    assert changes["leds.0"]["status"] == "applied"  # only the connectivity area waits
    assert _inbound(state_dir) == ["ssh", "https"]
    late = _reconcile("confirm", "--state-dir", str(state_dir))
    assert late.returncode == 1 and "nothing waits for confirmation" in late.stderr


def test_confirm_keeps_the_change(tmp_path: Path, state_dir: Path) -> None:
    result = _apply_confirm(tmp_path, state_dir, "3")
    confirmed = _reconcile("confirm", "--state-dir", str(state_dir))
    assert confirmed.returncode == 0, confirmed.stderr
    assert confirmed.stdout.strip() == f"Confirmed: firewall of apply #{result['applyId']} is kept."
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _guards_of(state_dir):
        time.sleep(0.2)
    assert not _guards_of(state_dir), "the guard outlived its window"
    assert _inbound(state_dir) == ["ssh", "https", "modbus"]
    changes = _show(state_dir, result["applyId"])["changes"]
    assert {c["status"] for c in changes} == {"applied"}
    plan = _reconcile(
        "plan", "-f", str(tmp_path / "press-line-07.yaml"), "--state-dir", str(state_dir)
    )
    assert plan.returncode == 0, plan.stdout + plan.stderr
