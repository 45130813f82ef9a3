"""The agent's rollout gate without a broker: a wave takes a new commit `after:` its first
sighting; until then the last good spec stays enforced and the status says why it waits."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from testkit import reconcile_cmd, subprocess_env

from reconciler.agent.loop import Agent, AgentConfig
from reconciler.agent.sources import LocalSource

FLEET = """apiVersion: reconciler/v1
kind: Fleet
spec:
  leds: {{0: "{led}"}}
  rollout:
    waves:
      - {{name: canary, selector: {{ring: canary}}}}
      - {{name: site-a, selector: {{site: a}}, after: 1h}}
"""
DEVICE = """apiVersion: reconciler/v1
kind: Device
metadata: {{name: {name}, model: UNO-2484G, labels: {labels}}}
"""


def make_agent(tmp_path: Path, name: str, labels: str) -> tuple[Agent, Path, Path]:
    fleet = tmp_path / "fleet"
    (fleet / "devices").mkdir(parents=True, exist_ok=True)
    (fleet / "fleet.yaml").write_text(FLEET.format(led="on"))
    (fleet / "devices" / f"{name}.yaml").write_text(DEVICE.format(name=name, labels=labels))
    state = tmp_path / name
    state.mkdir()
    return Agent(AgentConfig(source=LocalSource(fleet), state_dir=state, device=name)), fleet, state


def led(state: Path) -> str | None:
    try:
        device = json.loads((state / "sim" / "device.json").read_text())
    except FileNotFoundError:
        return None
    return str(device["state"]["leds"]["0"])


def waiting(state: Path) -> list[dict[str, str]]:
    return list(json.loads((state / "status.json").read_text())["waiting"])


def test_the_first_wave_applies_at_once(tmp_path: Path) -> None:
    agent, _, state = make_agent(tmp_path, "can-1", "{ring: canary}")
    assert agent.run_pass().state == "Synced"
    assert led(state) == "on"


def test_a_later_wave_waits_its_after_then_applies(tmp_path: Path) -> None:
    agent, fleet, state = make_agent(tmp_path, "a-1", "{site: a}")
    outcome = agent.run_pass()
    assert (outcome.state, outcome.reason) == ("OutOfSync", "Waiting")
    assert "wave schedule holds" in outcome.message
    [held] = waiting(state)
    assert held["path"] == "rollout" and held["until"] and "no broker" in held["reason"]
    assert led(state) != "on"
    assert agent.wake_at is not None  # the pass comes back when the wave's time is up

    first = agent.status.last_fetched_commit
    assert first is not None
    agent.memory.rollout_seen[first] = time.time() - 3601  # the hour has passed
    assert agent.run_pass().state == "Synced"
    assert led(state) == "on" and waiting(state) == []

    # a new commit is held: the last good one stays enforced (drift and all)
    (fleet / "fleet.yaml").write_text(FLEET.format(led="off"))
    outcome = agent.run_pass()
    assert (outcome.state, outcome.reason) == ("OutOfSync", "Waiting")
    status = json.loads((state / "status.json").read_text())
    assert status["lastAppliedCommit"] == first and status["lastPlan"]["commit"] == first
    assert led(state) == "on"
    memory = json.loads((state / "agent.json").read_text())
    assert status["lastFetchedCommit"] in memory["rollout_seen"]

    # drift while held: the last good spec is what gets enforced again
    sim_set = [*reconcile_cmd(), "sim", "set", "leds.0", "off", "--state-dir", str(state)]
    subprocess.run(sim_set, env=subprocess_env(), check=True, capture_output=True, timeout=60)
    assert led(state) == "off"
    assert agent.run_pass().reason == "Waiting"
    assert led(state) == "on"


def test_the_gate_reads_the_uplinks_broker_under_a_client_id_of_its_own() -> None:
    from reconciler.agent.rollout import broker_options
    from reconciler.services.mqtt.settings import resolve
    from reconciler.spec.cloud import MqttSpec

    def secrets(name: str) -> str:
        return {"pw": "s3cret-value"}[name]

    spec = MqttSpec.model_validate(
        {"host": "10.0.0.5", "tls": True, "username": "gw", "password": {"secretRef": "pw"}}
    )
    options = broker_options(resolve(spec, "a-1", secrets))
    assert (options.url, options.client_id) == ("mqtts://10.0.0.5:8883", "a-1-rollout")
    assert options.password == "s3cret-value" and options.tls_settings is not None
    ws = MqttSpec.model_validate({"host": "fd00::1", "websocket": True, "clientId": "x"})
    assert broker_options(resolve(ws, "a-1", secrets)).url == "ws://[fd00::1]:80/mqtt"
