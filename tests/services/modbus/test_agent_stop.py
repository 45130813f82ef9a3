"""SIGTERM stops `reconcile agent` cleanly while its Modbus master polls a loopback PLC
every few milliseconds under CPU load, 30 times in a row; and each restart serves the last
applied commit's time in a zone mapped to reconciler.lastAppliedAt at once, before any apply
(the status file is removed before each start: the agent's memory carries it)."""

from __future__ import annotations

import calendar
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from modbus_peers import Plc, client, free_port, wait_for
from testkit import reconcile_cmd, subprocess_env

STOPS = 30
DEVICE = """apiVersion: reconciler/v1
kind: Device
metadata: {{name: gw-1, model: UNO-2484G}}
spec:
  system: {{description: stop-test}}
  modbus:
    slave:
      tcp: {{port: {slave}, bindAddress: 127.0.0.1}}
      zones:
        - {{name: applied, table: input, address: 0, quantity: 2, dataType: uint32,
            tag: reconciler.lastAppliedAt}}
        - {{name: speed, table: input, address: 2, tag: modbus.plc1.speed}}
    master:
      devices:
        - name: plc1
          tcp: {{host: 127.0.0.1, port: {plc}, unitId: 1}}
          responseTimeoutMs: 200
          commands:
            - {{name: speed, function: readHolding, address: 100, intervalMs: 10}}
            - {{name: a, function: readHolding, address: 101, intervalMs: 10}}
            - {{name: b, function: readInput, address: 0, intervalMs: 10}}
"""


@pytest.fixture
def cpu_load() -> Iterator[None]:
    """A busy loop on the other core, as on a loaded device."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    yield
    busy.kill()
    busy.wait()


def read_zone(port: int, address: int, count: int) -> list[int] | None:
    c = client(port)
    try:
        r = c.read_input_registers(address, count=count)
        return None if r.isError() else list(r.registers)
    finally:
        c.close()


def test_sigterm_stops_the_agent_while_pollers_run(
    tmp_path: Path, plc: Callable[..., Plc], cpu_load: None
) -> None:
    device = plc()
    device.holding[100] = 1234
    fleet, state, slave = tmp_path / "fleet", tmp_path / "state", free_port()
    (fleet / "devices").mkdir(parents=True)
    (fleet / "fleet.yaml").write_text("apiVersion: reconciler/v1\nkind: Fleet\nspec: {}\n")
    (fleet / "devices" / "gw-1.yaml").write_text(DEVICE.format(slave=slave, plc=device.port))
    agent = [*reconcile_cmd(), "agent", "--source", str(fleet), "--device", "gw-1"]
    agent += ["--state-dir", str(state), "--interval", "60", "--drift-interval", "60"]
    first = subprocess.run(
        [*agent, "--once"], capture_output=True, text=True, env=subprocess_env(), timeout=120
    )
    assert first.returncode == 0, first.stderr
    applied = json.loads((state / "status.json").read_text())
    applied_at = calendar.timegm(time.strptime(applied["lastAppliedAt"], "%Y-%m-%dT%H:%M:%SZ"))
    words = [applied_at >> 16, applied_at & 0xFFFF]

    for attempt in range(STOPS):
        (state / "status.json").unlink()
        proc = subprocess.Popen(
            agent, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            wait_for(lambda: _safe_read(slave, 2, 1) == [1234], "the master polled", 60)
            assert _safe_read(slave, 0, 2) == words, f"restart {attempt}: lastAppliedAt"
            status = json.loads((state / "status.json").read_text())
            assert status["lastAppliedCommit"] == applied["lastAppliedCommit"]
            assert status["lastAppliedAt"] == applied["lastAppliedAt"]
            proc.send_signal(signal.SIGTERM)
            output = proc.communicate(timeout=60)[0]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 0, f"stop {attempt}: {output}"
        assert "not stopped within" not in output and "Traceback" not in output, output


def _safe_read(port: int, address: int, count: int) -> list[int] | None:
    try:
        return read_zone(port, address, count)
    except (AssertionError, OSError):
        return None
