"""The README's tour transcripts are what the tour prints when run now (scripts/tour.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from testkit import REPO, VENV_RECONCILE


@pytest.mark.skipif(not VENV_RECONCILE.exists(), reason="the tour runs .venv/bin/reconcile")
def test_the_readme_tour_is_what_the_tour_prints() -> None:
    run = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "tour.py")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, (
        "README.md's tour differs from a run of it (regenerate: "
        f".venv/bin/python scripts/tour.py --write):\n{run.stdout}{run.stderr}"
    )
