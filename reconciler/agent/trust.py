"""Commit signature checks: a commit whose signature does not verify is never applied."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TrustPolicy:
    """Either a GnuPG home with the trusted keys, or an SSH allowed-signers file (or both)."""

    gpg_home: Path | None = None
    allowed_signers: Path | None = None

    @property
    def enabled(self) -> bool:
        return self.gpg_home is not None or self.allowed_signers is not None


def verify_commit(repo: Path, revision: str, policy: TrustPolicy) -> str | None:
    """None when `revision` carries a good signature by a trusted key; else why not."""
    env = dict(os.environ)
    args = ["git", "-C", str(repo)]
    if policy.gpg_home is not None:
        env["GNUPGHOME"] = str(policy.gpg_home)
    if policy.allowed_signers is not None:
        args += ["-c", f"gpg.ssh.allowedSignersFile={policy.allowed_signers}"]
    proc = subprocess.run(
        [*args, "verify-commit", "--raw", revision],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    if proc.returncode == 0:
        return None
    detail = (proc.stderr or proc.stdout).strip().splitlines()
    if not detail or "no signature" in " ".join(detail).lower():
        return f"commit {revision[:12]} is not signed"
    return f"commit {revision[:12]} has no valid signature by a trusted key ({detail[-1][:160]})"
