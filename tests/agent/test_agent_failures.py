"""A commit that fails the same way twice is Stalled and not retried in a loop; `--retry`
tries it again; `--once` exits 1 when the pass failed."""

from __future__ import annotations

import json
from pathlib import Path

FLEET = "apiVersion: reconciler/v1\nkind: Fleet\nspec: {}\n"
DEVICE = """apiVersion: reconciler/v1
kind: Device
metadata: {name: gw-2, model: UNO-2484G}
spec:
  leds: {0: "on"}
"""


def test_failing_commit_stalls_then_retry(cli, tmp_path: Path) -> None:
    fleet = tmp_path / "fleet"
    (fleet / "devices").mkdir(parents=True)
    (fleet / "fleet.yaml").write_text(FLEET)
    (fleet / "devices" / "gw-2.yaml").write_text(DEVICE)
    state = tmp_path / "state"
    agent = ("agent", "--source", fleet, "--device", "gw-2", "--state-dir", state, "--once")
    assert (
        cli("sim", "--state-dir", state, "--model", "UNO-2484G", "fault", "leds", "always").code
        == 0
    )

    states = []
    for _ in range(4):
        result = cli(*agent)
        assert result.code == 1
        states.append(json.loads((state / "status.json").read_text())["syncState"])
    assert states == ["Failed", "Stalled", "Stalled", "Stalled"]
    history = json.loads(cli("history", "--state-dir", state, "--json").out)
    assert [h["status"] for h in history] == ["failed", "failed"]  # no retry after stalling

    cli("sim", "--state-dir", state, "fault", "leds", "clear")
    assert cli(*agent).code == 1  # still stalled: same commit, no --retry
    assert cli(*agent, "--retry").code == 0
    status = json.loads((state / "status.json").read_text())
    assert status["syncState"] == "Synced"


WAITING = """apiVersion: reconciler/v1
kind: Device
metadata: {name: gw-2, model: UNO-2484G}
spec:
  system: {description: waits}
  gpio: {pins: {0: {direction: output, level: high}}}
  update:
    maintenanceWindow: {cron: "0 3 1 1 *", durationMinutes: 5}
"""


def test_once_exits_2_while_changes_wait_and_logs_what_the_pass_did(
    tmp_path: Path, state_dir: Path
) -> None:
    """A disruptive change held for a closed window: `--once` says so and exits 2 (like
    plan), and the log has one line for the pass (commit, plan summary, outcome, time)."""
    import subprocess

    from testkit import reconcile_cmd, subprocess_env

    fleet = tmp_path / "fleet"
    (fleet / "devices").mkdir(parents=True)
    (fleet / "fleet.yaml").write_text(FLEET)
    (fleet / "devices" / "gw-2.yaml").write_text(WAITING)
    agent = [*reconcile_cmd(), "agent", "--source", str(fleet), "--device", "gw-2"]
    agent += ["--state-dir", str(state_dir), "--once", "--log-level", "info"]

    def once() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            agent, env=subprocess_env(), capture_output=True, text=True, timeout=120
        )

    first = once()
    assert first.returncode == 2, first.stdout + first.stderr
    assert first.stdout.startswith("OutOfSync"), first.stdout
    passes = [line for line in first.stderr.splitlines() if "pass: commit" in line]
    assert len(passes) == 1, first.stderr
    status = json.loads((state_dir / "status.json").read_text())
    assert {w["path"] for w in status["waiting"]} == {"gpio.pins.0.direction", "gpio.pins.0.level"}

    again = once()  # the gpio change still waits: the same answer, the same single line
    assert again.returncode == 2 and again.stdout.startswith("OutOfSync"), again.stderr
    passes = [line for line in again.stderr.splitlines() if "pass: commit" in line]
    assert len(passes) == 1 and "OutOfSync" in passes[0], again.stderr
