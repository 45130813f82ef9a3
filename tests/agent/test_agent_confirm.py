"""agent.confirm (commit-confirmed for the agent): a connectivity change stays only when an
operator gets in over the new path within the window (here: an authenticated request to
the agent's status endpoint); otherwise the engine's guard restores it, the commit counts
as failed (NotConfirmed), history says reverted, and after the retry fails too the commit is
Stalled."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from test_agent_services import free_port, wait_for
from testkit import SECRETS, reconcile_cmd, subprocess_env

from reconciler.confirmation import MARK, RequestMark, evidence

FLEET = "apiVersion: reconciler/v1\nkind: Fleet\nspec: {}\n"
DEVICE = """apiVersion: reconciler/v1
kind: Device
metadata: {{name: gw-1, model: UNO-2484G}}
spec:
  access:
    roles:
      - {{name: viewer, permissions: ["status:read"]}}
    users:
      - {{name: monitor, roles: [viewer], password: {{secretRef: monitor-password}}}}
  firewall:
    inbound:
      - {{name: ssh, port: 22, protocol: tcp}}
{rules}
  agent:
    confirm: {{within: 10, via: [status]}}
"""


def test_evidence_is_a_fresh_status_request_or_a_fresh_remote_login(tmp_path: Path) -> None:
    since = time.time()
    assert evidence(tmp_path, ["status", "ssh"], since, lambda: []) is None
    RequestMark(tmp_path).touch()
    os.utime(tmp_path / MARK, (since - 5, since - 5))  # before the change: no evidence
    assert evidence(tmp_path, ["status"], since, lambda: []) is None
    RequestMark(tmp_path).touch()
    assert evidence(tmp_path, ["status"], since) == "an authenticated status request"
    local = SimpleNamespace(name="ops", host="", started=since + 1)  # a console login
    old = SimpleNamespace(name="ops", host="10.0.0.9", started=since - 60)
    fresh = SimpleNamespace(name="ops", host="10.0.0.9", started=since + 1)
    assert evidence(tmp_path / "none", ["ssh"], since, lambda: [local, old]) is None
    found = evidence(tmp_path / "none", ["ssh"], since, lambda: [local, old, fresh])
    assert found == "an ssh login of ops from 10.0.0.9"


def _inbound(state: Path) -> list[str]:
    device = json.loads((state / "sim" / "device.json").read_text())["state"]
    return [rule["name"] for rule in device["firewall"]["inbound"]]


def _confirmed(state: Path) -> dict[str, Any] | None:
    status = json.loads((state / "status.json").read_text())
    return next((c for c in status["conditions"] if c["type"] == "Confirmed"), None)


def test_confirmed_by_a_status_request_or_reverted(tmp_path: Path, secrets_dir: Path) -> None:
    fleet, state, port = tmp_path / "fleet", tmp_path / "state", free_port()
    (fleet / "devices").mkdir(parents=True)
    (fleet / "fleet.yaml").write_text(FLEET)
    device = fleet / "devices" / "gw-1.yaml"
    modbus = "      - {name: modbus, port: 502, protocol: tcp}"
    device.write_text(DEVICE.format(rules=modbus))
    agent = subprocess.Popen(
        [*reconcile_cmd(), "agent", "--source", str(fleet), "--device", "gw-1",
         "--state-dir", str(state), "--secrets-dir", str(secrets_dir), "--interval", "3600",
         "--listen", f"127.0.0.1:{port}"],
        env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        waiting = wait_for("a change waiting", lambda: _confirmed(state), timeout=60)
        assert waiting["reason"] == "Waiting" and "firewall" in waiting["message"]
        _status_request(port)  # an operator gets in over the new path
        wait_for(
            "the change confirmed",
            lambda: (_confirmed(state) or {}).get("reason") == "Confirmed",
            timeout=60,
        )
        assert _inbound(state) == ["ssh", "https", "modbus"]

        opcua = modbus + "\n      - {name: opcua, port: 4840, protocol: tcp}"
        device.write_text(DEVICE.format(rules=opcua))  # nobody confirms this one
        wait_for("opcua applied", lambda: "opcua" in _inbound(state), timeout=60)
        # Not confirmed: reverted, Failed, retried after a backoff, reverted again: Stalled.
        stalled = wait_for(
            "the change reverted twice",
            lambda: (
                (s := json.loads((state / "status.json").read_text()))["syncState"] == "Stalled"
                and s
            ),
            timeout=180,
        )
        assert _inbound(state) == ["ssh", "https", "modbus"]
        ready = next(c for c in stalled["conditions"] if c["type"] == "Ready")
        assert ready["reason"] == "NotConfirmed" and "not confirmed within 10 s" in ready["message"]
        history = json.loads(_reconcile("history", "--state-dir", str(state), "--json"))
        assert [h["status"] for h in history[:2]] == ["reverted", "reverted"]
        assert "not confirmed with `reconcile confirm` within 10 s" in history[0]["error"]
    finally:
        agent.terminate()
        out = agent.communicate(timeout=60)[0]
    assert "Traceback" not in out, out


def _status_request(port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    wait_for("endpoint up", lambda: httpx.get(f"{base}/auth/ping").text == "pong")
    auth = ("monitor", SECRETS["monitor-password"])
    token = httpx.get(f"{base}/auth/token", auth=auth).json()["token"]
    response = httpx.get(
        f"{base}/reconciler/api/status", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200


def _reconcile(*args: str) -> str:
    done = subprocess.run(
        [*reconcile_cmd(), *args], env=subprocess_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
