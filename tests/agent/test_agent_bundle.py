"""Offline sites: `reconcile bundle create` from an SSH-signed repo, `reconcile agent
--source bundle:FILE` applying it from a watched path with the online path's signature
check, and refusing a bundle whose newest commit is unsigned or rewinds what was applied."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testkit import REPO, reconcile_cmd, subprocess_env

DEVICE = "press-line-01"
DEVICE_FILE = f"fleet/devices/{DEVICE}.yaml"
HOUR = "3600"
"""--interval: only a new bundle on the watched path explains a new apply."""
pytestmark = pytest.mark.skipif(
    shutil.which("ssh-keygen") is None or shutil.which("git") is None,
    reason="needs git and ssh-keygen (Debian: git, openssh-client) for signed commits",
)


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
    )
    return proc.stdout.strip()


class SignedRepo:
    """The reference fleet in a work tree whose commits are SSH-signed (or not)."""

    def __init__(self, root: Path) -> None:
        self.work = root / "work"
        key = root / "signing-key"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ci@fleet", "-f", str(key)],
            check=True,
        )
        self.allowed_signers = root / "allowed_signers"
        self.allowed_signers.write_text(f"ci@fleet {key.with_suffix('.pub').read_text()}")
        git(root, "init", "--quiet", "--initial-branch=main", str(self.work))
        for k, v in {"user.name": "CI", "user.email": "ci@fleet", "gpg.format": "ssh",
                     "user.signingkey": str(key)}.items():  # fmt: skip
            git(self.work, "config", k, v)
        shutil.copytree(REPO / "fleet", self.work / "fleet")
        device = (self.work / DEVICE_FILE).read_text()
        self.base = device[: device.index("  cloud:\n")]

    def commit(self, description: str, signed: bool = True) -> str:
        (self.work / DEVICE_FILE).write_text(
            _described(self.base, description)
            + "  modbus: null\n  cloud: null\n  update:\n    maintenanceWindow: null\n"
            "  agent:\n    healthWindowSeconds: 1\n"
        )
        git(self.work, "add", "-A")
        git(self.work, "commit", "--quiet", "-S" if signed else "--no-gpg-sign", "-m", description)
        return git(self.work, "rev-parse", "HEAD")


def _described(base: str, description: str) -> str:
    import re

    return re.sub(r"(?m)^    description: .*$", f"    description: {description}", base, count=1)


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
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


def bundle_create(repo: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*reconcile_cmd(), "bundle", "create", "--repo", str(repo), "--out", str(out)],
        capture_output=True, text=True, env=subprocess_env(), timeout=120,
    )  # fmt: skip


def test_bundle_applied_from_a_watched_path(tmp_path: Path, secrets_dir: Path) -> None:
    (secrets_dir / "fieldtech-password").write_text("Fieldtech-Secret-Value-33\n")
    (secrets_dir / "fieldtech-password").chmod(0o600)
    repo = SignedRepo(tmp_path)
    commit_a = repo.commit("rev-A")
    usb = tmp_path / "usb"
    usb.mkdir()
    bundle = usb / "fleet.bundle"
    made = bundle_create(repo.work, bundle)
    assert made.returncode == 0, made.stderr
    assert f"branch main at {commit_a[:12]}" in made.stdout
    assert git(tmp_path, "bundle", "list-heads", str(bundle)) == f"{commit_a} refs/heads/main"

    state = tmp_path / "state"

    def status() -> dict[str, Any]:
        return dict(json.loads((state / "status.json").read_text()))

    def description() -> str:
        data = json.loads((state / "sim" / "device.json").read_text())
        return str(data["state"]["system"]["description"])

    agent = subprocess.Popen(
        [*reconcile_cmd(), "agent", "--source", f"bundle:{bundle}", "--path", "fleet",
         "--device", DEVICE, "--state-dir", str(state), "--secrets-dir", str(secrets_dir),
         "--interval", HOUR, "--verify-signatures", "--allowed-signers", str(repo.allowed_signers)],
        env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        wait_for("commit A applied", lambda: status()["lastAppliedCommit"] == commit_a)
        assert description() == "rev-A"
        assert status()["source"]["url"] == f"bundle:{bundle}@main:fleet"

        commit_b = repo.commit("rev-B")
        assert bundle_create(repo.work, bundle).returncode == 0
        wait_for(
            "commit B applied from the new bundle",
            lambda: status()["lastAppliedCommit"] == commit_b,
        )
        assert description() == "rev-B"

        unsigned = repo.commit("rev-unsigned", signed=False)
        assert bundle_create(repo.work, bundle).returncode == 0
        rejected = wait_for(
            "unsigned bundle refused",
            lambda: (s := status())["rejected"] and s["rejected"]["commit"] == unsigned and s,
        )
        assert rejected["rejected"]["reason"] == "SignatureRejected"
        assert rejected["lastAppliedCommit"] == commit_b
        assert description() == "rev-B"

        git(repo.work, "reset", "--quiet", "--hard", commit_a)  # signed, but a rewind
        assert bundle_create(repo.work, bundle).returncode == 0
        rewound = wait_for(
            "rewound bundle refused",
            lambda: (s := status())["rejected"] and s["rejected"]["commit"] == commit_a and s,
        )
        assert rewound["rejected"]["reason"] == "HistoryRewound"
        assert rewound["lastAppliedCommit"] == commit_b
        assert description() == "rev-B"
    finally:
        agent.terminate()
        out, _ = agent.communicate(timeout=60)
    assert "Traceback" not in out


def test_bundle_create_refuses_what_it_cannot_bundle(tmp_path: Path) -> None:
    not_a_repo = bundle_create(tmp_path, tmp_path / "x.bundle")
    assert not_a_repo.returncode == 1 and "Traceback" not in not_a_repo.stderr
    assert not_a_repo.stderr.count("\n") == 1
    assert not (tmp_path / "x.bundle").exists()
    assert list(tmp_path.iterdir()) == []  # no temp file left behind
