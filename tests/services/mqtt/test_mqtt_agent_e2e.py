"""`reconcile agent` with its MQTT uplink, all real: a bare Git repo holding a small fleet
whose device points cloud.mqtt at a mosquitto on loopback, the agent as a subprocess on the
sim backend, and a subscriber that sees what a fleet dashboard would.

- a sync trigger makes the agent fetch and apply at once (--interval is an hour, the Git
  source has no watcher: only the trigger explains the apply);
- the broker goes away while the agent applies commits: the events arrive afterwards, in
  order, none lost;
- the agent stops with a non-empty queue and delivers it after its restart; killed, it
  leaves the will ("offline") retained.
"""

from __future__ import annotations

import json
import shutil
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_kit import DEVICE, HOUR, PREFIX, TOPIC, AgentProcess, FleetRepo
from mqtt_broker import Broker, Collector, Received, events, wait_until
from uplink_kit import SECRET_VALUES, message_validator

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git (Debian: git)")


@pytest.fixture
def lab(
    tmp_path: Path, secrets_dir: Path, new_broker: Callable[..., Broker]
) -> Iterator[tuple[Broker, FleetRepo, AgentProcess]]:
    broker = new_broker()
    repo = FleetRepo(tmp_path / "git", broker.port)
    agent = AgentProcess(tmp_path, repo, secrets_dir)
    yield broker, repo, agent
    if agent.proc is not None:
        agent.end(signal.SIGKILL)
    log = agent.log.read_text() if agent.log.exists() else ""
    assert "Traceback" not in log, log
    for value in SECRET_VALUES:
        assert value not in log
        for path in agent.state.rglob("*"):
            assert not path.is_file() or value.encode() not in path.read_bytes(), path


def watch(collect: Callable[..., Collector], broker: Broker) -> Collector:
    return collect(broker, [f"{TOPIC}/status", f"{TOPIC}/events", f"{TOPIC}/state"])


def applied_status(commit: str) -> Callable[[Received], bool]:
    return lambda m: m.topic.endswith("/status") and m.data.get("lastAppliedCommit") == commit


def result_of(commit: str) -> Callable[[Received], bool]:
    return lambda m: (
        m.topic.endswith("/events")
        and m.data["event"] == "apply.result"
        and m.data["commit"] == commit
    )


def apply_events(collector: Collector) -> list[tuple[str, str]]:
    return [(e["event"], e["commit"]) for e in events(collector) if e["event"].startswith("apply.")]


def assert_documented(collector: Collector) -> None:
    validator = message_validator()
    for message in collector.messages():
        assert not list(validator.iter_errors(message.data)), message.payload


def test_sync_trigger_fetches_and_applies(
    lab: tuple[Broker, FleetRepo, AgentProcess], collect: Callable[..., Collector]
) -> None:
    broker, repo, agent = lab
    collector = watch(collect, broker)
    first = repo.push("rev-A")
    agent.start(interval=HOUR)
    collector.wait_for("rev-A applied and reported", applied_status(first))

    latencies: list[float] = []
    for description, topic in (("rev-B", f"{TOPIC}/sync"), ("rev-C", f"{PREFIX}/fleet/sync")):
        commit = repo.push(description)
        assert not agent.applied(description)
        sent = collector.publish(topic, json.dumps({"requestId": description}))
        result = collector.wait_for(f"{description} applied", result_of(commit))
        latencies.append(result.at - sent)
        assert result.data["status"] == "applied"
        assert agent.applied(description)
    print(f"sync trigger -> apply.result latency: {', '.join(f'{s:.3f} s' for s in latencies)}")

    requested = [e for e in events(collector) if e["event"] == "sync.requested"]
    assert [(e["scope"], e["requestId"]) for e in requested] == [
        ("device", "rev-B"),
        ("fleet", "rev-C"),
    ]
    assert agent.end() == 0
    offline = collector.wait_for("offline status", lambda m: m.data.get("online") is False)
    assert offline.data["reason"] == "stopped"
    assert_documented(collector)


def test_broker_outage_while_the_agent_applies(
    lab: tuple[Broker, FleetRepo, AgentProcess], collect: Callable[..., Collector]
) -> None:
    broker, repo, agent = lab
    collector = watch(collect, broker)
    commits = [repo.push("rev-A")]
    agent.start(interval="0.5")
    collector.wait_for("rev-A applied and reported", applied_status(commits[0]))

    broker.stop()
    for description in ("rev-B", "rev-C", "rev-D"):
        commits.append(repo.push(description))
        wait_until(f"{description} applied while offline", lambda d=description: agent.applied(d))
    assert agent.queued() >= 6  # apply.started and apply.result per commit, and statuses
    broker.start()

    collector.wait_for("the last queued result", result_of(commits[-1]), timeout=60)
    expected = [(kind, c) for c in commits for kind in ("apply.started", "apply.result")]
    assert apply_events(collector) == expected, agent.log.read_text()
    seqs = [e["seq"] for e in events(collector, "")]
    assert seqs == sorted(seqs)
    collector.wait_for("status after the outage", applied_status(commits[-1]))
    assert_documented(collector)


def test_a_declared_will_is_what_the_broker_sends_for_a_killed_agent(
    lab: tuple[Broker, FleetRepo, AgentProcess], collect: Callable[..., Collector]
) -> None:
    """cloud.mqtt.willMessage replaces the default will (MQTT has one per connection)."""
    broker, repo, agent = lab
    repo.extra = (
        "      willMessage: {topic: lab/edge-01/lwt, payload: gone, qos: 1, retain: true}\n"
    )
    collector = collect(broker, [f"{TOPIC}/status", "lab/edge-01/lwt"])
    commit = repo.push("rev-A")
    agent.start(interval=HOUR)
    collector.wait_for("rev-A applied and reported", applied_status(commit))
    assert collector.messages("/lwt") == []  # sent only when the connection is lost

    agent.end(signal.SIGKILL)
    will = collector.wait_for("the declared will", lambda m: m.topic == "lab/edge-01/lwt")
    assert (will.payload, will.retain) == (b"gone", False)
    assert collector.messages("/status")[-1].data["online"] is True  # no default will
    late = collect(broker, ["lab/edge-01/lwt"])
    assert late.wait_for("the retained will", lambda m: m.retain).payload == b"gone"


def test_agent_restart_delivers_its_queue_and_leaves_a_will(
    tmp_path: Path,
    secrets_dir: Path,
    collect: Callable[..., Collector],
    new_broker: Callable[..., Broker],
) -> None:
    lab_broker = new_broker()
    lab_broker.stop()  # down from the start: the first run can only queue
    repo = FleetRepo(tmp_path / "git", lab_broker.port)
    agent = AgentProcess(tmp_path, repo, secrets_dir)
    commit = repo.push("rev-A")
    agent.start(interval=HOUR)
    try:
        wait_until("rev-A applied", lambda: agent.applied("rev-A"))
        wait_until("events queued", lambda: agent.queued() >= 3)
        assert agent.end() == 0
        queued = agent.queued()

        lab_broker.start()
        collector = watch(collect, lab_broker)
        agent.start(interval=HOUR)
        collector.wait_for("the first run's result", result_of(commit))
        assert apply_events(collector) == [("apply.started", commit), ("apply.result", commit)]
        first_seqs = [e["seq"] for e in events(collector)]
        assert len(first_seqs) >= 2 and queued >= 3
        collector.wait_for("status of the second run", applied_status(commit))
        wait_until("queue delivered", lambda: agent.queued() == 0)
        # What a dashboard connecting now sees (retained): the commit applied before the
        # restart, and when, though nothing was applied since.
        retained = watch(collect, lab_broker).wait_for(
            "the retained status", lambda m: m.topic.endswith("/status") and m.data["online"]
        )
        assert retained.data["lastAppliedCommit"] == commit
        assert retained.data["lastAppliedAt"]

        agent.end(signal.SIGKILL)  # no clean disconnect: the broker sends the will
        will = collector.wait_for("the will", lambda m: m.data.get("online") is False)
        assert will.data == {
            "type": "status",
            "device": DEVICE,
            "online": False,
            "reason": "connectionLost",
            "time": None,
        }
        assert_documented(collector)
    finally:
        if agent.proc is not None:
            agent.end(signal.SIGKILL)
    log: Any = agent.log.read_text()
    assert "Traceback" not in log, log
    for value in SECRET_VALUES:
        assert value not in log
