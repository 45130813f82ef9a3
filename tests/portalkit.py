"""A portal emulator served by uvicorn on a free loopback port, in a thread of the test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from reconciler.drivers.portal.emulator import EmulatedDevice, PortalEmulator

CREDENTIALS = "admin:p@ssw0rd"
SPEC = """\
apiVersion: reconciler/v1
kind: Device
metadata: {name: unit-1, model: UNO-2484G}
spec:
  watchdog: {enabled: true, timeoutSeconds: 30}
  gpio:
    pins:
      0: {direction: output, level: high}
      1: {direction: input}
  leds: {0: "on", 3: "on"}
  brightness: 7
  services: {telnet: stopped, collector: running}
  network:
    interfaces:
      eth1: {dhcp: false, address: 10.0.1.20/24, gateway: 10.0.1.1}
    routePriority: [eth1, eth0, wlan0]
    dns: {primary: 10.0.1.1, secondary: 10.0.0.1}
"""


@dataclass
class Unit:
    """One emulated unit on loopback and the CLI options that reach it."""

    url: str
    device: EmulatedDevice
    args: list[str]
    """--backend portal ... --state-dir ... --secrets-dir ..."""
    spec: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: PortalEmulator, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """Serve `app` on loopback until the block ends (over TLS with `tls` = (certificate,
    key)); yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ssl_certfile=str(tls[0]) if tls else None,
        ssl_keyfile=str(tls[1]) if tls else None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the portal emulator did not start")
        time.sleep(0.01)
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def write_secret(secrets_dir: Path, name: str, value: str) -> None:
    path = secrets_dir / name
    path.write_text(value + "\n")
    path.chmod(0o600)
