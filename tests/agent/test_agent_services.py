"""The agent's services, all real: `reconcile agent --listen` serves the status endpoint and
runs the spec's Modbus slave; a Modbus client reads a zone and drives a GPIO output through a
coil, and the endpoint reports the sync status and the tags, from a local-directory source
edited while the agent runs."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from testkit import SECRETS, reconcile_cmd, subprocess_env

FLEET = """apiVersion: reconciler/v1
kind: Fleet
spec:
  system: {timezone: UTC}
"""

DEVICE = """apiVersion: reconciler/v1
kind: Device
metadata: {{name: gw-1, model: UNO-2484G, labels: {{site: lab}}}}
spec:
  system: {{hostname: gw-1, description: {description}}}
  access:
    roles:
      - {{name: viewer, permissions: ["status:read"]}}
    users:
      - {{name: monitor, roles: [viewer], password: {{secretRef: monitor-password}}}}
  gpio:
    pins:
      0: {{direction: output}}
  modbus:
    slave:
      tcp: {{port: {port}, unitId: 1}}
      zones:
        - name: wdt
          table: input
          address: 0
          dataType: uint16
          tag: watchdog.timeoutSeconds
        - name: do0
          table: coils
          address: 0
          dataType: bool
          tag: gpio.pins.0.level
          writable: true
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            last = None
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def test_agent_serves_status_and_modbus(tmp_path: Path, secrets_dir: Path) -> None:
    from pymodbus.client import ModbusTcpClient

    fleet = tmp_path / "fleet"
    (fleet / "devices").mkdir(parents=True)
    (fleet / "fleet.yaml").write_text(FLEET)
    modbus_port, http_port = free_port(), free_port()
    device_file = fleet / "devices" / "gw-1.yaml"
    device_file.write_text(DEVICE.format(description="first", port=modbus_port))
    state = tmp_path / "state"
    agent = subprocess.Popen(
        [
            *reconcile_cmd(),
            "agent",
            "--source", str(fleet),
            "--device", "gw-1",
            "--state-dir", str(state),
            "--secrets-dir", str(secrets_dir),
            "--interval", "60",
            "--listen", f"127.0.0.1:{http_port}",
            "--log-level", "debug",
        ],
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{http_port}"
    client = ModbusTcpClient("127.0.0.1", port=modbus_port, timeout=2)
    try:
        assert wait_for("endpoint up", lambda: httpx.get(f"{base}/auth/ping").text == "pong")
        token = httpx.get(
            f"{base}/auth/token", auth=("monitor", SECRETS["monitor-password"])
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}

        def status() -> dict[str, Any]:
            return httpx.get(f"{base}/reconciler/api/status", headers=headers).json()

        wait_for("Synced", lambda: status()["syncState"] == "Synced")

        # Modbus: the watchdog timeout in an input register, a coil that drives GPIO 0.
        assert wait_for("slave up", lambda: client.connect())
        regs = wait_for(
            "zone readable",
            lambda: (r := client.read_input_registers(0, count=1)) and not r.isError() and r,
        )
        assert regs.registers == [60]  # factory watchdog timeout of the simulated UNO-2484G
        assert not client.write_coil(0, True).isError()
        sim = state / "sim" / "device.json"
        wait_for(
            "coil drove the GPIO output",
            lambda: json.loads(sim.read_text())["state"]["gpio"]["pins"]["0"]["level"] == "high",
        )
        tags = wait_for(
            "tags served",
            lambda: httpx.get(f"{base}/reconciler/api/tags", headers=headers).json(),
        )
        assert tags["watchdog.timeoutSeconds"]["quality"] == "good"
        assert tags["watchdog.timeoutSeconds"]["value"] == 60

        # Edit the local source: the change is seen through file events (interval is 60 s).
        device_file.write_text(DEVICE.format(description="second", port=modbus_port))
        wait_for(
            "edit applied",
            lambda: json.loads(sim.read_text())["state"]["system"]["description"] == "second",
            timeout=15,
        )
        assert httpx.post(f"{base}/reconciler/api/status", headers=headers).status_code == 405
    finally:
        client.close()
        agent.terminate()
        output = agent.communicate(timeout=20)[0]
    assert agent.returncode == 0, output
    assert "Traceback" not in output, output
    for value in SECRETS.values():  # the agent's log never carries a secret
        assert value not in output


def test_listen_starts_while_a_modbus_change_waits(tmp_path: Path, secrets_dir: Path) -> None:
    """The endpoint does not wait for the maintenance window the Modbus change waits for."""
    fleet = tmp_path / "fleet"
    (fleet / "devices").mkdir(parents=True)
    (fleet / "fleet.yaml").write_text(FLEET)
    held = DEVICE.format(description="held", port=free_port()) + (
        '  update:\n    maintenanceWindow: {cron: "0 3 1 1 *", durationMinutes: 1}\n'
    )
    (fleet / "devices" / "gw-1.yaml").write_text(held)
    http_port = free_port()
    agent = subprocess.Popen(
        [
            *reconcile_cmd(), "agent", "--source", str(fleet), "--device", "gw-1",
            "--state-dir", str(tmp_path / "state"), "--secrets-dir", str(secrets_dir),
            "--listen", f"127.0.0.1:{http_port}",
        ],
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{http_port}"
    try:
        assert wait_for("endpoint up", lambda: httpx.get(f"{base}/auth/ping").text == "pong")
        auth = ("monitor", SECRETS["monitor-password"])
        token = httpx.get(f"{base}/auth/token", auth=auth).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}

        def status() -> dict[str, Any]:
            return httpx.get(f"{base}/reconciler/api/status", headers=headers).json()

        held_status = wait_for(
            "the Modbus change held", lambda: status()["syncState"] == "OutOfSync" and status()
        )
        assert held_status["waiting"]
        assert "modbus" in {w["path"].split(".")[0] for w in held_status["waiting"]}
    finally:
        agent.terminate()
        output = agent.communicate(timeout=20)[0]
    assert agent.returncode == 0, output
