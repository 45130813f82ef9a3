"""`reconcile modbus serve`: a real process serving a spec file until it is signalled."""

from __future__ import annotations

import signal
import subprocess
import textwrap
from pathlib import Path

from modbus_peers import LOOPBACK, client, free_port, wait_for
from testkit import reconcile_cmd, subprocess_env

REPO = Path(__file__).resolve().parents[3]


def spec(port: int, address: int) -> str:
    return textwrap.dedent(
        f"""\
        apiVersion: reconciler/v1
        kind: Device
        metadata: {{name: gw, model: UNO-2484G}}
        spec:
          modbus:
            slave:
              tcp: {{port: {port}, bindAddress: {LOOPBACK}}}
              zones:
                - {{name: wdt, table: holding, address: {address}, tag: watchdog.timeoutSeconds}}
        """
    )


def reconcile(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*reconcile_cmd(), "modbus", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=subprocess_env(),
    )


def test_serve_reload_and_stop(tmp_path: Path) -> None:
    port = free_port()
    file = tmp_path / "gw.yaml"
    file.write_text(spec(port, 0))
    proc = reconcile("serve", "--file", str(file), "--state-dir", str(tmp_path / "state"))
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"Modbus slave: TCP {LOOPBACK}:{port}, 1 zone(s)"), line
        c = client(port)
        assert c.read_holding_registers(0).registers == [60]

        file.write_text(spec(port, 7))
        proc.send_signal(signal.SIGHUP)
        assert proc.stdout.readline().startswith(f"reloaded {file}")
        assert c.read_holding_registers(7).registers == [60]  # same connection
        c.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


def test_an_invalid_spec_or_a_taken_port_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(spec(free_port(), 0).replace("watchdog.timeoutSeconds", "gpio.9.level"))
    proc = reconcile("serve", "--file", str(bad), "--state-dir", str(tmp_path / "s"))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err.strip() == (
        f"{bad}:9:56: spec.modbus.slave.zones.0.tag: UNO-2484G has GPIO pins 0..7, not '9'"
    )

    import socket

    with socket.create_server((LOOPBACK, 0)) as taken:
        good = tmp_path / "good.yaml"
        good.write_text(spec(taken.getsockname()[1], 0))
        proc = reconcile("serve", "--file", str(good), "--state-dir", str(tmp_path / "s"))
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "error: the Modbus TCP slave cannot listen" in err


def test_serial_paths_must_be_port_equals_path(tmp_path: Path) -> None:
    file = tmp_path / "gw.yaml"
    file.write_text(spec(free_port(), 0))
    proc = reconcile("serve", "--file", str(file), "--serial", "ttyS0")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "--serial takes PORT=PATH" in err
    wait_for(lambda: proc.poll() is not None, "the process ended")
