"""The agent end to end, all real: a bare Git repo holding the reference fleet, SSH-signed
commits, `reconcile agent` as a subprocess on the sim backend, and pushes that it must apply,
reject, correct, roll back or hold for a maintenance window; then SIGTERM."""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from testkit import REPO, reconcile_cmd, subprocess_env

DEVICE = "press-line-01"
DEVICE_FILE = f"fleet/devices/{DEVICE}.yaml"
pytestmark = pytest.mark.skipif(
    shutil.which("ssh-keygen") is None or shutil.which("git") is None,
    reason="needs git and ssh-keygen (Debian: git, openssh-client) for signed commits",
)


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
    )
    return proc.stdout.strip()


class FleetRepo:
    """A working clone of a bare 'remote' that commits (signed or not) and pushes."""

    def __init__(self, root: Path) -> None:
        self.remote = root / "remote.git"
        self.work = root / "work"
        key = root / "signing-key"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ci@fleet", "-f", str(key)],
            check=True,
        )
        self.allowed_signers = root / "allowed_signers"
        self.allowed_signers.write_text(f"ci@fleet {key.with_suffix('.pub').read_text()}")
        git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(self.remote))
        git(root, "init", "--quiet", "--initial-branch=main", str(self.work))
        for k, v in {
            "user.name": "CI",
            "user.email": "ci@fleet",
            "gpg.format": "ssh",
            "user.signingkey": str(key),
        }.items():
            git(self.work, "config", k, v)
        git(self.work, "remote", "add", "origin", str(self.remote))
        shutil.copytree(REPO / "fleet", self.work / "fleet")
        device = (self.work / DEVICE_FILE).read_text()
        self.base = device[: device.index("  cloud:\n")]  # spec_extra sets cloud

    def push(self, extra: str, message: str, signed: bool = True) -> str:
        """Commit the device file as the reference one plus `extra` spec lines."""
        (self.work / DEVICE_FILE).write_text(self.base + extra)
        git(self.work, "add", "-A")
        git(self.work, "commit", "--quiet", "-S" if signed else "--no-gpg-sign", "-m", message)
        git(self.work, "push", "--quiet", "origin", "main")
        return git(self.work, "rev-parse", "HEAD")


# Overrides every commit carries: no inherited maintenance window (set per test step), a
# short health window, and a description that tells the commits apart on the device.
def spec_extra(more: str = "", window: str = "null") -> str:
    """The agent runs the spec's Modbus service and MQTT uplink; the reference device's
    broker and Modbus port are not this machine's, so the test removes them (`null`)."""
    return (
        "  modbus: null\n  cloud: null\n"
        f"  update:\n    maintenanceWindow: {window}\n"
        f"  agent:\n    healthWindowSeconds: 2\n{more}"
    )


def set_description(text: str, description: str) -> str:
    return re.sub(r"(?m)^    description: .*$", f"    description: {description}", text, count=1)


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (FileNotFoundError, ValueError, KeyError):
            last = None
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_agent_end_to_end(tmp_path: Path, secrets_dir: Path) -> None:
    for name in ("fieldtech-password",):
        (secrets_dir / name).write_text("Fieldtech-Secret-Value-33\n")
        (secrets_dir / name).chmod(0o600)
    repo = FleetRepo(tmp_path)
    state = tmp_path / "state"

    def status() -> dict[str, Any]:
        return json.loads((state / "status.json").read_text())

    def device() -> dict[str, Any]:
        return json.loads((state / "sim" / "device.json").read_text())["state"]

    def description() -> str:
        return str(device()["system"]["description"])

    repo.base = set_description(repo.base, "rev-A")
    commit_a = repo.push(spec_extra(), "A: initial")
    agent = subprocess.Popen(
        [
            *reconcile_cmd(),
            "agent",
            "--source",
            f"file://{repo.remote}",
            "--branch",
            "main",
            "--path",
            "fleet",
            "--device",
            DEVICE,
            "--state-dir",
            str(state),
            "--secrets-dir",
            str(secrets_dir),
            "--interval",
            "0.5",
            "--drift-interval",
            "1",
            "--verify-signatures",
            "--allowed-signers",
            str(repo.allowed_signers),
        ],
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # 1. The first commit is applied.
        wait_for("commit A applied", lambda: status()["lastAppliedCommit"] == commit_a)
        wait_for("Synced", lambda: status()["syncState"] == "Synced")
        assert description() == "rev-A"

        # 2. A new commit is applied.
        repo.base = set_description(repo.base, "rev-B")
        commit_b = repo.push(spec_extra(), "B: new description")
        wait_for("commit B applied", lambda: status()["lastAppliedCommit"] == commit_b)
        assert description() == "rev-B"

        # 3. An invalid commit: Failed with file:line:col, device unchanged.
        commit_c = repo.push(
            spec_extra("  watchdog: {enabled: true, timeoutSeconds: 999}\n"), "C: invalid"
        )
        failed = wait_for(
            "invalid commit reported",
            lambda: (
                status()["syncState"] == "Failed"
                and status()["lastFetchedCommit"] == commit_c
                and status()
            ),
        )
        ready = next(c for c in failed["conditions"] if c["type"] == "Ready")
        assert ready["reason"] == "InvalidSpec"
        assert f"devices/{DEVICE}.yaml:" in ready["message"]
        assert "spec.watchdog.timeoutSeconds" in ready["message"]
        assert failed["lastAppliedCommit"] == commit_b
        assert device()["watchdog"]["timeoutSeconds"] != 999

        # 4. Drift is corrected (against the last good spec, B).
        subprocess.run(
            [*reconcile_cmd(), "sim", "--state-dir", str(state), "set", "system.description", "x"],
            check=True,
            env=subprocess_env(),
            capture_output=True,
        )
        wait_for("drift corrected", lambda: description() == "rev-B")

        # 5. An unsigned commit is rejected; the agent stays on the last good spec.
        repo.base = set_description(repo.base, "rev-unsigned")
        unsigned = repo.push(spec_extra(), "U: unsigned", signed=False)
        rejected = wait_for(
            "unsigned commit rejected",
            lambda: (status().get("rejected") or {}).get("commit") == unsigned and status(),
        )
        assert rejected["rejected"]["reason"] == "SignatureRejected"
        assert description() == "rev-B"
        history = subprocess.run(
            [*reconcile_cmd(), "history", "--state-dir", str(state), "--json"],
            capture_output=True,
            text=True,
            check=True,
            env=subprocess_env(),
        )
        assert any(
            h["status"] == "rejected" and h["source"] == unsigned
            for h in json.loads(history.stdout)
        )

        # 6. A commit whose health check fails is rolled back to the last good spec.
        repo.base = set_description(repo.base, "rev-E")
        check = (
            "    healthChecks:\n"
            f"      - {{name: plc, tcp: '127.0.0.1:{closed_port()}', timeoutSeconds: 0.5}}\n"
        )
        commit_e = repo.push(spec_extra(check), "E: unhealthy")
        rolled = wait_for(
            "rolled back",
            lambda: (
                any(
                    c["type"] == "Ready" and c["reason"] == "RolledBack"
                    for c in status()["conditions"]
                )
                and status()["lastFetchedCommit"] == commit_e
                and status()
            ),
            timeout=45,
        )
        assert rolled["lastAppliedCommit"] == commit_b
        wait_for("device back on B", lambda: description() == "rev-B")

        # 7. A disruptive change waits for the maintenance window; the rest goes ahead.
        tz = ZoneInfo("Europe/Berlin")  # plant-a's time zone, where the window is evaluated
        # The window opens at a whole minute at least 20 s away, so the agent sees the
        # commit while it is still closed however late in the minute this step runs.
        opens = (datetime.now(tz) + timedelta(seconds=80)).replace(second=0, microsecond=0)
        window = f'{{cron: "{opens.minute} {opens.hour} * * *", durationMinutes: 5}}'
        repo.base = set_description(repo.base, "rev-F")
        repo.base = repo.base.replace(
            "1: {direction: input}                  # emergency-stop feedback",
            "1: {direction: output, level: high}",
        )
        commit_f = repo.push(spec_extra(window=window), "F: gated gpio change")
        held = wait_for(
            "gpio change held",
            lambda: status()["lastAppliedCommit"] == commit_f and status()["waiting"] and status(),
        )
        assert description() == "rev-F"  # risk none: applied at once
        assert {w["path"] for w in held["waiting"]} == {
            "gpio.pins.1.direction",
            "gpio.pins.1.level",
        }
        assert device()["gpio"]["pins"]["1"]["direction"] == "input"
        wait_for(
            "window opens and gpio change applied",
            lambda: device()["gpio"]["pins"]["1"]["direction"] == "output",
            timeout=150,
        )
        wait_for("Synced after window", lambda: status()["syncState"] == "Synced")

        # 8. SIGTERM: a clean exit within seconds.
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=15) == 0
    finally:
        if agent.poll() is None:
            agent.kill()
        output = agent.communicate()[0] if agent.stdout else ""
        assert "Traceback" not in output, output
