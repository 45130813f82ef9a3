"""`reconcile bundle create`: one branch of the fleet repo as a git bundle, for sites the
Git server cannot reach. The commits are copied as they are, so their signatures travel
with them and the agent checks them as it does online."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import OperationError


class BundleError(OperationError):
    """The repository, the branch or the output file is not usable."""


@dataclass(frozen=True)
class Bundle:
    path: Path
    branch: str
    commit: str


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=300, check=False
    )
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise BundleError(f"git {args[0]} in {repo}: {detail[-1] if detail else 'failed'}")
    return proc.stdout.strip()


def create_bundle(repo: Path, out: Path, branch: str | None = None) -> Bundle:
    """Write the bundle next to `out`, verify it, fsync, then rename it into place, so an
    agent watching `out` never reads half a file."""
    if not repo.is_dir():
        raise BundleError(f"--repo {repo}: not a directory")
    branch = branch or _git(repo, "symbolic-ref", "--quiet", "--short", "HEAD")
    commit = _git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
    out = out.absolute()
    if not out.parent.is_dir():
        raise BundleError(f"--out {out}: no directory {out.parent}")
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        _git(repo, "bundle", "create", "--quiet", tmp, f"refs/heads/{branch}")
        _git(repo, "bundle", "verify", "--quiet", tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Bundle(out, branch, commit)
