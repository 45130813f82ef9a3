"""Every example is a spec a technician can apply to a device fresh from the factory.

Each one plans real changes against a new simulated device of its model without tripping
the self-lockout checks (the locked-down kiosk keeps ssh reachable by key from its
management subnet), applies, and then plans no changes: it converges.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.yaml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_applies_to_a_factory_default_device_and_converges(
    cli: Callable[..., Any], state_dir: Path, secrets_dir: Path, example: Path
) -> None:
    where = ["--file", example, "--state-dir", state_dir, "--secrets-dir", secrets_dir]

    first = cli("plan", *where)
    assert first.code == 2, first.text
    assert "refusing" not in first.text

    applied = cli("apply", "--yes", *where)
    assert applied.code == 0, applied.text
    assert "Apply complete" in applied.out

    again = cli("plan", *where)
    assert again.code == 0, again.text
    assert "No changes" in again.out
