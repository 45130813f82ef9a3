"""GPG-signed commits, all real (git, gpg): a commit signed by a key in the agent's
keyring verifies; one signed by a key it does not hold, and an unsigned one, do not."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.agent.trust import TrustPolicy, verify_commit

pytestmark = pytest.mark.skipif(
    shutil.which("gpg") is None or shutil.which("git") is None,
    reason="needs git and gpg (Debian: git, gnupg) for signed commits",
)


def run(*args: str, cwd: Path | None = None, home: Path | None = None) -> str:
    env = {**os.environ, "GNUPGHOME": str(home)} if home else None
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=120
    )
    return proc.stdout.strip()


@pytest.fixture
def homes() -> Iterator[list[Path]]:
    """GnuPG homes made by the test; their gpg-agents are stopped afterwards."""
    made: list[Path] = []
    yield made
    for home in made:
        subprocess.run(["gpgconf", "--kill", "all"], env={**os.environ, "GNUPGHOME": str(home)},
                       capture_output=True, check=False, timeout=60)  # fmt: skip


def keyring(path: Path, uid: str) -> Path:
    """A GnuPG home holding one new signing key (no passphrase) for `uid`."""
    path.mkdir(mode=0o700)
    run("gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never",
        home=path)  # fmt: skip
    return path


def commit(repo: Path, name: str, home: Path | None, email: str) -> str:
    (repo / name).write_text(name)
    run("git", "add", name, cwd=repo)
    sign = ["-c", f"user.signingkey={email}", "commit", "-S"] if home else ["commit"]
    run("git", *sign, "--quiet", "-m", name, cwd=repo, home=home)
    return run("git", "rev-parse", "HEAD", cwd=repo)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    run("git", "init", "--quiet", "--initial-branch=main", str(path))
    run("git", "config", "user.name", "CI", cwd=path)
    run("git", "config", "user.email", "ci@fleet", cwd=path)
    run("git", "config", "commit.gpgsign", "false", cwd=path)
    return path


def test_gpg_signed_by_a_trusted_key_only(tmp_path: Path, repo: Path, homes: list[Path]) -> None:
    ci = keyring(tmp_path / "ci-key", "CI <ci@fleet>")
    intruder = keyring(tmp_path / "intruder-key", "Intruder <x@evil>")
    trusted = tmp_path / "agent-keyring"
    trusted.mkdir(mode=0o700)
    homes += [ci, intruder, trusted]
    public = tmp_path / "ci.pub"
    public.write_text(run("gpg", "--armor", "--export", "ci@fleet", home=ci))
    run("gpg", "--batch", "--import", str(public), home=trusted)
    policy = TrustPolicy(gpg_home=trusted)

    good = commit(repo, "good", ci, "ci@fleet")
    forged = commit(repo, "forged", intruder, "x@evil")
    unsigned = commit(repo, "unsigned", None, "")

    assert verify_commit(repo, good, policy) is None
    refused = verify_commit(repo, forged, policy)
    assert refused is not None
    assert refused.startswith(f"commit {forged[:12]} has no valid signature by a trusted key")
    assert verify_commit(repo, unsigned, policy) == f"commit {unsigned[:12]} is not signed"
    # The intruder's own keyring trusts the intruder, not the CI key: keys are per policy.
    assert verify_commit(repo, forged, TrustPolicy(gpg_home=intruder)) is None
    assert verify_commit(repo, good, TrustPolicy(gpg_home=intruder)) is not None
