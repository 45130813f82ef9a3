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
