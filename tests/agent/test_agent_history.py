"""No rewind, and no commit CI would reject: with SSH-signed commits, a force-push back to an
applied commit and a rewritten history are refused (the latter accepted with
`--allow-non-fast-forward`), and a signed commit holding a device file that is a symlink to
/etc/passwd is never applied. Each pass is `reconcile agent --once` on the sim backend."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from test_agent_e2e import DEVICE, FleetRepo, git, set_description, spec_extra
from testkit import reconcile_cmd, subprocess_env


class Device:
    """The agent's view of one device: run a pass, read its status and the sim's state."""

    def __init__(self, tmp_path: Path, repo: FleetRepo, secrets_dir: Path) -> None:
        self.repo, self.state, self.secrets_dir = repo, tmp_path / "state", secrets_dir

    def reconcile(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self._run(
            "agent", "--source", f"file://{self.repo.remote}", "--path", "fleet",
            "--device", DEVICE, "--state-dir", str(self.state),
            "--secrets-dir", str(self.secrets_dir), "--once", "--verify-signatures",
            "--allowed-signers", str(self.repo.allowed_signers), *args,
        )  # fmt: skip

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*reconcile_cmd(), *args],
            capture_output=True,
            text=True,
            env=subprocess_env(),
            timeout=120,
            check=False,
        )

    def status(self) -> dict[str, Any]:
        proc = self._run("status", "--state-dir", str(self.state), "--json")
        assert proc.returncode == 0, proc.stderr
        return dict(json.loads(proc.stdout))

    def description(self) -> str:
        state = json.loads((self.state / "sim" / "device.json").read_text())["state"]
        return str(state["system"]["description"])

    def history(self) -> list[dict[str, Any]]:
        proc = self._run("history", "--state-dir", str(self.state), "--json")
        return list(json.loads(proc.stdout))


def add_secret(secrets_dir: Path) -> None:
    """The one secret the reference device needs beyond the shared test secrets."""
    path = secrets_dir / "fieldtech-password"
    path.write_text("Fieldtech-Secret-Value-33\n")
    path.chmod(0o600)


def push(repo: FleetRepo, description: str, *, force: bool = False) -> str:
    repo.base = set_description(repo.base, description)
    (repo.work / f"fleet/devices/{DEVICE}.yaml").write_text(repo.base + spec_extra())
    git(repo.work, "commit", "--quiet", "-S", "-am", description)
    git(repo.work, "push", "--quiet", *(["--force"] if force else []), "origin", "main")
    return git(repo.work, "rev-parse", "HEAD")


def test_history_is_never_rewound(tmp_path: Path, secrets_dir: Path) -> None:
    add_secret(secrets_dir)
    repo = FleetRepo(tmp_path)
    git(repo.work, "add", "-A")
    device = Device(tmp_path, repo, secrets_dir)

    c1 = push(repo, "rev-1")
    assert device.reconcile().returncode == 0
    c2 = push(repo, "rev-2")
    once = device.reconcile()
    assert once.returncode == 0, once.stdout + once.stderr
    assert "Synced" in once.stdout
    assert device.status()["lastAppliedCommit"] == c2

    # A force-push back to c1 (validly signed, but older) is refused; the device keeps c2.
    git(repo.work, "push", "--quiet", "--force", "origin", f"{c1}:main")
    once = device.reconcile()
    assert once.returncode == 1
    assert "HistoryRewound" in once.stdout
    status = device.status()
    assert status["rejected"]["commit"] == c1
    assert status["rejected"]["reason"] == "HistoryRewound"
    assert c1 in status["rejected"]["message"] and c2 in status["rejected"]["message"]
    assert status["lastAppliedCommit"] == c2 and status["lastAppliedAt"]
    assert device.description() == "rev-2"
    assert any(h["status"] == "rejected" and h["source"] == c1 for h in device.history())
    text = device._run("status", "--state-dir", str(device.state)).stdout
    assert f"last good:     {c2} applied at {status['lastAppliedAt']}" in text
    assert "None" not in text

    # A rewritten history (a commit that does not descend from c2) is refused too...
    git(repo.work, "reset", "--quiet", "--hard", c1)
    c3 = push(repo, "rev-3", force=True)
    assert device.reconcile().returncode == 1
    status = device.status()
    assert status["rejected"]["commit"] == c3
    assert status["rejected"]["reason"] == "HistoryRewound"
    assert "does not descend from" in status["rejected"]["message"]
    assert device.description() == "rev-2"

    # ... unless the operator allows it.
    assert device.reconcile("--allow-non-fast-forward", "--retry").returncode == 0
    assert device.status()["lastAppliedCommit"] == c3
    assert device.description() == "rev-3"


def test_a_commit_ci_rejects_is_never_applied(tmp_path: Path, secrets_dir: Path) -> None:
    add_secret(secrets_dir)
    repo = FleetRepo(tmp_path)
    device = Device(tmp_path, repo, secrets_dir)
    git(repo.work, "add", "-A")
    good = push(repo, "rev-1")
    assert device.reconcile().returncode == 0

    # Another device's file is a symlink leaving the repo: `fleet validate` fails on it.
    (repo.work / "fleet/devices/intruder.yaml").symlink_to("/etc/passwd")
    git(repo.work, "add", "-A")
    evil = push(repo, "rev-evil")
    validate = device._run("fleet", "validate", str(repo.work / "fleet"))
    assert validate.returncode == 1

    assert device.reconcile().returncode == 1
    status = device.status()
    assert status["rejected"]["commit"] == evil
    assert status["rejected"]["reason"] == "InvalidSpec"
    assert "intruder.yaml" in status["rejected"]["message"]
    assert status["lastAppliedCommit"] == good
    assert device.description() == "rev-1"
