"""SIGTERM stops `reconcile agent` cleanly while its Modbus master polls a loopback PLC
every few milliseconds under CPU load, 30 times in a row; and each restart carries the last
applied commit and its time at once, before any apply, in the status file, the retained
MQTT status (a real mosquitto) and the Modbus zones mapped to reconciler.lastAppliedAt and
reconciler.lastAppliedCommit (the status file is removed before each start: the agent's
memory carries it)."""

from __future__ import annotations

import calendar
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from modbus_peers import Plc, client, free_port, wait_for
from mqtt_broker import MOSQUITTO, NO_MOSQUITTO, Broker, Collector
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
        - {{name: commit, table: input, address: 3, quantity: 12, dataType: string,
            tag: reconciler.lastAppliedCommit}}
    master:
      devices:
        - name: plc1
          tcp: {{host: 127.0.0.1, port: {plc}, unitId: 1}}
          responseTimeoutMs: 200
          commands:
            - {{name: speed, function: readHolding, address: 100, intervalMs: 10}}
            - {{name: a, function: readHolding, address: 101, intervalMs: 10}}
            - {{name: b, function: readInput, address: 0, intervalMs: 10}}
  cloud:
    mqtt: {{host: 127.0.0.1, port: {broker}, tls: false, topicPrefix: stop-test,
            keepAliveSec: 10, reportIntervalSec: 0}}
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
    if MOSQUITTO is None:
        pytest.skip(NO_MOSQUITTO)
    broker = Broker(tmp_path / "broker")
    broker.start()
    statuses = Collector(broker, ["stop-test/gw-1/status"])
    device = plc()
    device.holding[100] = 1234
    fleet, state, slave = tmp_path / "fleet", tmp_path / "state", free_port()
    (fleet / "devices").mkdir(parents=True)
    (fleet / "fleet.yaml").write_text("apiVersion: reconciler/v1\nkind: Fleet\nspec: {}\n")
    spec = DEVICE.format(slave=slave, plc=device.port, broker=broker.port)
    (fleet / "devices" / "gw-1.yaml").write_text(spec)
    agent = [*reconcile_cmd(), "agent", "--source", str(fleet), "--device", "gw-1"]
    agent += ["--state-dir", str(state), "--interval", "60", "--drift-interval", "60"]
    try:
        first = subprocess.run(
            [*agent, "--once"], capture_output=True, text=True, env=subprocess_env(), timeout=120
        )
        assert first.returncode == 0, first.stderr
        applied = json.loads((state / "status.json").read_text())
        for attempt in range(STOPS):
            _restart_and_stop(agent, state, slave, statuses, applied, attempt)
    finally:
        statuses.close()
        broker.stop()


def _restart_and_stop(
    agent: list[str],
    state: Path,
    slave: int,
    statuses: Collector,
    applied: dict[str, Any],
    attempt: int,
) -> None:
    """Start the agent without its status file, check what it says at once, SIGTERM it."""
    commit, at = applied["lastAppliedCommit"], applied["lastAppliedAt"]
    epoch = calendar.timegm(time.strptime(at, "%Y-%m-%dT%H:%M:%SZ"))
    (state / "status.json").unlink()
    started = time.monotonic()
    proc = subprocess.Popen(
        agent, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_for(lambda: _safe_read(slave, 2, 1) == [1234], "the master polled", 180)
        assert _safe_read(slave, 0, 2) == [epoch >> 16, epoch & 0xFFFF], f"restart {attempt}"
        assert _text(_safe_read(slave, 3, 12)) == commit[:24], f"restart {attempt}: commit zone"
        status = json.loads((state / "status.json").read_text())
        assert (status["lastAppliedCommit"], status["lastAppliedAt"]) == (commit, at)
        retained = statuses.wait_for(
            f"restart {attempt}: the MQTT status",
            lambda m: m.at > started and bool(m.payload) and m.data.get("online") is True,
            timeout=180,
        )
        assert (retained.data["lastAppliedCommit"], retained.data["lastAppliedAt"]) == (commit, at)
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=120)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, f"stop {attempt}: {output}"
    assert "not stopped within" not in output and "Traceback" not in output, output


def _text(registers: list[int] | None) -> str:
    """A string zone's registers (two characters each, high byte first)."""
    raw = b"".join(r.to_bytes(2, "big") for r in registers or [])
    return raw.rstrip(b"\0").decode()


def _safe_read(port: int, address: int, count: int) -> list[int] | None:
    try:
        return read_zone(port, address, count)
    except (AssertionError, OSError):
        return None
