"""A Modbus client's write is an apply: it is in `reconcile history` (source "modbus
write"), verified by observing, and waits for nobody: while another process holds the
apply lock it is answered with exception 06 (server device busy) and changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from modbus_peers import LOOPBACK, client, exception_code, free_port

from reconciler.drivers.sim.backend import SimBackend
from reconciler.services.modbus.service import ModbusService

DEVICE_BUSY = 6
ZONES = [{"name": "do0", "table": "coils", "address": 0, "tag": "gpio.0.level", "writable": True}]
HOLD_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def holder(uno: SimBackend) -> Iterator[Callable[[], subprocess.Popen[str]]]:
    """Another process holding the state dir's apply lock until its stdin closes."""
    procs: list[subprocess.Popen[str]] = []

    def hold() -> subprocess.Popen[str]:
        lock = uno.root.parent / "apply.lock"
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(lock)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        return proc

    yield hold
    for proc in procs:
        proc.kill()
        proc.wait()


def _history(cli: Callable[..., object], state_dir: Path) -> list[dict[str, object]]:
    result = cli("history", "--state-dir", state_dir, "--json")
    return list(json.loads(result.out))  # type: ignore[attr-defined]


def test_a_write_is_journaled_and_respects_the_apply_lock(
    serve: Callable[..., ModbusService],
    uno: SimBackend,
    holder: Callable[[], subprocess.Popen[str]],
    cli: Callable[..., object],
) -> None:
    state_dir = uno.root.parent
    port = free_port()
    serve(uno, {"slave": {"tcp": {"port": port, "unitId": 1, "bindAddress": LOOPBACK},
                          "zones": ZONES}})  # fmt: skip
    c = client(port)
    assert not c.write_coil(0, True).isError()
    [entry] = _history(cli, state_dir)
    assert entry["source"] == "modbus write" and entry["status"] == "written"
    shown = json.loads(cli("history", "--state-dir", state_dir, "--show", entry["id"]).out)  # type: ignore[attr-defined]
    assert [(ch["path"], ch["status"]) for ch in shown["changes"]] == [
        ("gpio.pins.0.level", "applied")
    ]
    assert [ch["after"] for ch in shown["plan"]["changes"]] == ["high"]

    proc = holder()
    assert exception_code(c.write_coil(0, False)) == DEVICE_BUSY
    assert SimBackend.open(state_dir, None).observe()["gpio"]["pins"]["0"]["level"] == "high"
    assert len(_history(cli, state_dir)) == 1  # nothing applied, nothing journaled

    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=30)
    assert not c.write_coil(0, False).isError()
    assert SimBackend.open(state_dir, None).observe()["gpio"]["pins"]["0"]["level"] == "low"
    latest = _history(cli, state_dir)
    assert [e["status"] for e in latest] == ["written", "written"]
    c.close()
