"""A pass that hits an unexpected error (a bug, injected here into the plan step) ends as a
Failed status naming the error, with a backoff; the agent goes on and the next pass syncs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.agent.loop import Agent, AgentConfig, PassRun
from reconciler.agent.sources import LocalSource

DEVICE = """apiVersion: reconciler/v1
kind: Device
metadata: {name: gw-3, model: UNO-2484G}
spec:
  leds: {0: "on"}
"""


def test_an_unexpected_error_is_a_failed_pass_not_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = tmp_path / "fleet"
    (fleet / "devices").mkdir(parents=True)
    (fleet / "fleet.yaml").write_text("apiVersion: reconciler/v1\nkind: Fleet\nspec: {}\n")
    (fleet / "devices" / "gw-3.yaml").write_text(DEVICE)
    state = tmp_path / "state"
    state.mkdir()
    agent = Agent(AgentConfig(source=LocalSource(fleet), state_dir=state, device="gw-3"))
    planned = agent._plan

    def broken(run: PassRun) -> None:
        raise KeyError("injected")

    monkeypatch.setattr(agent, "_plan", broken)
    outcome = agent.run_pass()
    assert (outcome.state, outcome.reason) == ("Failed", "InternalError")
    status = json.loads((state / "status.json").read_text())
    assert status["syncState"] == "Failed"
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "InternalError" and "injected" in ready["message"]
    assert agent.failures_in_row == 1  # the next fetch backs off
    assert agent._next_deadline(0.0) <= 1.2  # first backoff: 1 s (jittered), not the interval

    monkeypatch.setattr(agent, "_plan", planned)
    assert agent.run_pass().state == "Synced"
    status = json.loads((state / "status.json").read_text())
    assert status["syncState"] == "Synced" and status["lastAppliedCommit"]
