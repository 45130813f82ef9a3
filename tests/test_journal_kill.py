"""The journal is whole: SIGKILL an apply at a random point (any of its failpoints, see
engine/failpoint.py) and `history --show` still lists every planned change, each with a
true status: `applied` for what reached the device (checked by observing on the next run),
`interrupted` for what did not, never `pending` or `applying`."""

from __future__ import annotations

import json
import os
import random
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from test_apply_failures import SPEC, write_spec
from testkit import Result, reconcile_cmd, subprocess_env

TRIALS = int(os.environ.get("KILL_TRIALS", "30"))
SMALL = """apiVersion: reconciler/v1
kind: Device
metadata: {name: press-line-07, model: UNO-2484G}
spec:
  system: {hostname: press-line-07}
  gpio: {pins: {0: {direction: output, level: high}}}
  leds: {0: "on", 1: "on"}
  watchdog: {enabled: true, timeoutSeconds: 30}
"""
"""A small plan over four areas (no password to hash: the trials stay fast)."""
FAILPOINTS = 2 + 3 * 4
"""in-begin, after-begin, then before-area / after-area / after-verify for each area."""

Cli = Callable[..., Result]


def _killed_apply(spec: Path, state_dir: Path, secrets_dir: Path, at: int) -> int:
    args = [*reconcile_cmd(), "apply", "-f", str(spec), "--state-dir", str(state_dir)]
    args += ["--secrets-dir", str(secrets_dir), "--yes"]
    env = subprocess_env(RECONCILER_FAILPOINT=f"count:{at}")
    return subprocess.run(args, env=env, capture_output=True, timeout=120).returncode


def _paths(cli: Cli, spec: Path, state_dir: Path, secrets_dir: Path) -> list[str]:
    result = cli(
        "plan", "-f", spec, "--state-dir", state_dir, "--secrets-dir", secrets_dir, "--json"
    )
    return [c["path"] for c in json.loads(result.out)["changes"]]


def _journal(cli: Cli, state_dir: Path) -> dict[str, str]:
    shown = json.loads(cli("history", "--state-dir", state_dir, "--show", "1").out)
    return {c["path"]: c["status"] for c in shown["changes"]}


def test_every_planned_change_has_a_true_status_after_a_kill_anywhere(
    cli: Cli, tmp_path: Path, secrets_dir: Path
) -> None:
    spec = write_spec(tmp_path, SMALL)
    planned = _paths(cli, spec, tmp_path / "pristine", secrets_dir)
    assert len(planned) > 5
    rng = random.Random(os.environ.get("KILL_SEED", "13"))
    points = [rng.randint(1, FAILPOINTS) for _ in range(TRIALS)]
    dirs = [tmp_path / f"trial-{i}" for i in range(TRIALS)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(lambda d, n: _killed_apply(spec, d, secrets_dir, n), dirs, points))
    for state_dir, at, code in zip(dirs, points, codes, strict=True):
        trial = f"killed at failpoint {at}"
        assert code == -9, trial
        if at == 1:  # inside the journal's first transaction: no apply, nothing applied
            assert json.loads(cli("history", "--state-dir", state_dir, "--json").out) == []
            assert sorted(_paths(cli, spec, state_dir, secrets_dir)) == sorted(planned)
            continue
        journal = _journal(cli, state_dir)
        assert sorted(journal) == sorted(planned), trial  # every planned change, no more
        assert set(journal.values()) <= {"applied", "interrupted"}, (trial, journal)
        assert "interrupted" in journal.values() or at == FAILPOINTS, (trial, journal)
        remaining = set(_paths(cli, spec, state_dir, secrets_dir))  # the next run observes
        verified = _journal(cli, state_dir)
        for path, status in verified.items():
            assert status == ("interrupted" if path in remaining else "applied"), (trial, path)


def test_a_killed_apply_marks_its_unfinished_changes_interrupted(
    cli: Cli, tmp_path: Path, state_dir: Path, secrets_dir: Path
) -> None:
    spec = write_spec(tmp_path, SPEC)
    args = [*reconcile_cmd(), "apply", "-f", str(spec), "--state-dir", str(state_dir)]
    args += ["--secrets-dir", str(secrets_dir), "--yes"]
    env = subprocess_env(RECONCILER_FAILPOINT="before-area:gpio")
    assert subprocess.run(args, env=env, capture_output=True, timeout=120).returncode == -9
    journal = _journal(cli, state_dir)
    assert journal["system.hostname"] == "applied"
    assert journal["access.users[monitor]"] == "applied"
    assert journal["gpio.pins.0.direction"] == "interrupted"  # was being applied
    assert journal["leds.0"] == "interrupted" and journal["watchdog.enabled"] == "interrupted"
    history = json.loads(cli("history", "--state-dir", state_dir, "--json").out)
    assert history[0]["status"] == "interrupted"
