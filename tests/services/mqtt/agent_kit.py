"""`reconcile agent` with an MQTT uplink as a subprocess, and the bare Git repo it follows:
a one-device fleet whose cloud.mqtt points at a loopback broker. Shared by
test_mqtt_agent_e2e.py and bench/mqtt.py."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
from pathlib import Path
from typing import IO

from testkit import reconcile_cmd, subprocess_env

DEVICE = "edge-01"
PREFIX = "e2e"
TOPIC = f"{PREFIX}/{DEVICE}"
HOUR = "3600"
FLEET = """\
apiVersion: reconciler/v1
kind: Fleet
spec:
  system: {timezone: UTC}
"""


def device_yaml(port: int, description: str, extra: str = "") -> str:
    """The device file; `extra` is more cloud.mqtt keys, one per line, indented 6."""
    return f"""\
apiVersion: reconciler/v1
kind: Device
metadata: {{name: {DEVICE}, model: UNO-2484G, labels: {{site: lab}}}}
spec:
  system: {{hostname: {DEVICE}, description: {description}}}
  cloud:
    mqtt:
      host: 127.0.0.1
      port: {port}
      tls: false
      username: {DEVICE}
      password: {{secretRef: mqtt-password}}
      topicPrefix: {PREFIX}
      keepAliveSec: 10
      reportIntervalSec: 0
      storeAndForward: {{enable: true, sendDelayMs: 10}}
{extra}"""


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
    )
    return proc.stdout.strip()


def bare_and_clone(root: Path) -> tuple[Path, Path]:
    """A bare 'remote' (root/remote.git) and a work tree (root/work, with devices/) that
    pushes to it."""
    remote, work = root / "remote.git", root / "work"
    root.mkdir(parents=True)
    git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    git(root, "init", "--quiet", "--initial-branch=main", str(work))
    git(work, "config", "user.name", "CI")
    git(work, "config", "user.email", "ci@fleet")
    git(work, "remote", "add", "origin", str(remote))
    (work / "devices").mkdir()
    return remote, work


class FleetRepo:
    """A bare 'remote' and a working clone that commits the device file and pushes."""

    def __init__(self, root: Path, port: int) -> None:
        self.port = port
        self.extra = ""
        """More cloud.mqtt lines for the device file (device_yaml's `extra`)."""
        self.remote, self.work = bare_and_clone(root)
        (self.work / "fleet.yaml").write_text(FLEET)

    def push(self, description: str) -> str:
        (self.work / "devices" / f"{DEVICE}.yaml").write_text(
            device_yaml(self.port, description, self.extra)
        )
        git(self.work, "add", "-A")
        git(self.work, "commit", "--quiet", "--no-gpg-sign", "-m", description)
        git(self.work, "push", "--quiet", "origin", "main")
        return git(self.work, "rev-parse", "HEAD")


class AgentProcess:
    """`reconcile agent` on the sim backend, its output in a log file."""

    def __init__(self, root: Path, repo: FleetRepo, secrets_dir: Path) -> None:
        self.state = root / "state"
        self.log = root / "agent.log"
        self.repo = repo
        self.secrets_dir = secrets_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self._out: IO[bytes] | None = None

    def start(self, interval: str) -> None:
        self._out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [
                *reconcile_cmd(),
                "agent",
                "--source",
                f"file://{self.repo.remote}",
                "--device",
                DEVICE,
                "--state-dir",
                str(self.state),
                "--secrets-dir",
                str(self.secrets_dir),
                "--interval",
                interval,
                "--drift-interval",
                HOUR,
            ],
            env=subprocess_env(),
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def end(self, sig: signal.Signals = signal.SIGTERM) -> int:
        assert self.proc is not None and self._out is not None
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._out.close()
        self.proc = None
        return code

    def description(self) -> str:
        device = json.loads((self.state / "sim" / "device.json").read_text())
        return str(device["state"]["system"]["description"])

    def applied(self, description: str) -> bool:
        try:
            return self.description() == description
        except (FileNotFoundError, ValueError, KeyError):
            return False

    def queued(self) -> int:
        with sqlite3.connect(self.state / "mqtt" / "outbox.sqlite3") as db:
            return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])
