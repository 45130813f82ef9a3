"""pre-commit, as a fleet repo uses it: the hook this repository publishes in its root
`.pre-commit-hooks.yaml` (`pre-commit try-repo`, which installs it like a fleet repo's
`repo: URL` entry does), and the local-hook config in examples/ci."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from testkit import REPO, subprocess_env

PRE_COMMIT = REPO / ".venv" / "bin" / "pre-commit"
HOOK = "reconcile-fleet-validate"
BAD_HOSTNAME = "    hostname: -press-line-01\n"

pytestmark = [
    pytest.mark.skipif(
        not PRE_COMMIT.exists(), reason="needs pre-commit (pip install -e '.[test]')"
    ),
    pytest.mark.skipif(shutil.which("git") is None, reason="needs git (Debian: git)"),
]


def _fleet_repo(tmp_path: Path, broken: bool) -> Path:
    """A git repo holding a copy of the reference fleet, one device's host name invalid."""
    root = tmp_path / "fleet-repo"
    shutil.copytree(REPO / "fleet", root)
    if broken:
        device = root / "devices" / "press-line-01.yaml"
        text = device.read_text()
        assert "    hostname: press-line-01\n" in text
        device.write_text(text.replace("    hostname: press-line-01\n", BAD_HOSTNAME))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run([*git, "-C", str(root), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(root), "commit", "-qm", "fleet"], check=True)
    return root


def _env(tmp_path: Path) -> dict[str, str]:
    path = f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess_env(PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), PATH=path)


def test_published_hook_installs_and_reports_located_errors(tmp_path: Path) -> None:
    """pre-commit builds the hook's own virtualenv from this repository (pip, PyPI for
    the dependencies), runs it, and it fails the commit with file:line:col."""
    root = _fleet_repo(tmp_path, broken=True)
    result = subprocess.run(
        [str(PRE_COMMIT), "try-repo", str(REPO), HOOK, "--all-files"],
        cwd=root,
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=900,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "reconcile fleet validate" in out and "Failed" in out
    assert "devices/press-line-01.yaml:10:15: spec.system.hostname:" in out, out


@pytest.mark.parametrize("broken", [False, True])
def test_local_hook_example_config(tmp_path: Path, broken: bool) -> None:
    root = _fleet_repo(tmp_path, broken)
    shutil.copy(
        REPO / "examples" / "ci" / "pre-commit-config.yaml", root / ".pre-commit-config.yaml"
    )
    result = subprocess.run(
        [str(PRE_COMMIT), "run", "--all-files", HOOK],
        cwd=root,
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=300,
    )
    out = result.stdout + result.stderr
    assert result.returncode == (1 if broken else 0), out
    assert ("Failed" if broken else "Passed") in out
    assert ("press-line-01.yaml:10:15" in out) is broken
