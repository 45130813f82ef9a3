"""In CI (CI=true) a test that skips for want of a real peer fails: the conftest hook."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


@pytest.mark.parametrize(("ci", "outcome"), [("true", "1 failed"), ("", "1 skipped")])
def test_a_skip_fails_in_ci_only(tmp_path: Path, ci: str, outcome: str) -> None:
    for name in ("conftest.py", "testkit.py"):
        shutil.copy(TESTS / name, tmp_path / name)
    (tmp_path / "test_peer.py").write_text(
        "import pytest\n\ndef test_needs_a_peer():\n    pytest.skip('needs a unicorn')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["CI"] = ci
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_peer.py"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert outcome in proc.stdout, proc.stdout + proc.stderr
    if ci:
        assert "skipped in CI, where nothing may be missing" in proc.stdout
        assert "needs a unicorn" in proc.stdout
