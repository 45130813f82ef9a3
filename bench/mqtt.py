"""MQTT uplink figures, on loopback only (a mosquitto this script starts on free ports).

Prints:
- sync trigger -> applied: `reconcile agent` (sim backend, a bare Git repo, --interval one
  hour so only the trigger explains an apply) gets a commit and then a sync trigger, N times;
  the time from publishing the trigger to receiving that commit's apply.result event over
  MQTT: median and max (target: under 1 s);
- publish rate: apply events offered to an MqttUplink in this process (QoS 1, store and
  forward on, each message committed to SQLite before it is sent) until a subscriber has
  received them all: the rate at which they were queued and the rate end to end.

Every loop is bounded by a count and each wait by a timeout; the script stops by itself.

Run: .venv/bin/python bench/mqtt.py [--triggers 20] [--messages 5000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "services" / "mqtt")]

from agent_kit import DEVICE, HOUR, PREFIX, TOPIC, AgentProcess, FleetRepo  # noqa: E402
from mqtt_broker import MOSQUITTO, NO_MOSQUITTO, Broker, Collector, wait_until  # noqa: E402
from uplink_kit import Uplinks, device_target  # noqa: E402


def secrets(root: Path) -> Path:
    path = root / "secrets"
    path.mkdir(mode=0o700)
    (path / "mqtt-password").write_text("bench-password\n")
    (path / "mqtt-password").chmod(0o600)
    return path


def trigger_latency(root: Path, broker: Broker, triggers: int) -> list[float]:
    """Seconds from a sync trigger to its commit's apply.result, per trigger."""
    repo = FleetRepo(root / "git", broker.port)
    agent = AgentProcess(root / "agent", repo, secrets(root))
    (root / "agent").mkdir()
    collector = Collector(broker, [f"{TOPIC}/status", f"{TOPIC}/events"])
    first = repo.push("rev-0")
    agent.start(interval=HOUR)
    latencies = []
    try:
        collector.wait_for(
            "the first commit applied",
            lambda m: m.topic.endswith("/status") and m.data.get("lastAppliedCommit") == first,
        )
        for i in range(1, triggers + 1):
            commit = repo.push(f"rev-{i}")
            sent = collector.publish(f"{TOPIC}/sync", json.dumps({"requestId": f"bench-{i}"}))
            result = collector.wait_for(
                f"rev-{i} applied",
                lambda m, c=commit: (
                    m.topic.endswith("/events")
                    and m.data.get("event") == "apply.result"
                    and m.data.get("commit") == c
                ),
            )
            latencies.append(result.at - sent)
    finally:
        agent.end()
        collector.close()
    return latencies


def publish_rate(root: Path, broker: Broker, count: int) -> tuple[float, float]:
    """(messages/s queued, messages/s received by a subscriber) for `count` events."""
    uplinks = Uplinks(root / "uplink", root)
    collector = Collector(broker, [f"{PREFIX}/{DEVICE}/events"])
    spec = {
        "host": "127.0.0.1",
        "port": broker.port,
        "topicPrefix": PREFIX,
        "reportIntervalSec": 0,
        "storeAndForward": {"enable": True, "maxSizeMB": 64},
    }
    uplink = uplinks.open()
    uplink.on_spec(device_target(spec), uplinks.backend)
    try:
        wait_until("connected", lambda: uplink.connection_state()["status"] == "connected")
        event = {"commit": "c" * 40, "status": "applied", "applied": 3, "applyId": 1}
        start = time.monotonic()
        for i in range(count):
            uplink.on_event("apply.result", {**event, "applyId": i})
        queued = time.monotonic()
        wait_until(
            f"{count} events received",
            lambda: len(collector.messages()) >= count,
            timeout=300,
        )
        done = collector.messages()[count - 1].at
    finally:
        uplinks.stop_all()
        collector.close()
    return count / (queued - start), count / (done - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triggers", type=int, default=20)
    parser.add_argument("--messages", type=int, default=5000)
    args = parser.parse_args()
    if MOSQUITTO is None:
        print(f"skipped: {NO_MOSQUITTO}")
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-mqtt-") as tmp:
        root = Path(tmp)
        broker = Broker(root / "broker")
        broker.start()
        try:
            latencies = trigger_latency(root / "trigger", broker, args.triggers)
            queued, delivered = publish_rate(root / "rate", broker, args.messages)
        finally:
            broker.stop()
    print(
        f"sync trigger -> applied ({len(latencies)} triggers, agent on the sim backend): "
        f"median {statistics.median(latencies) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms (target < 1000 ms)"
    )
    print(
        f"publish rate ({args.messages} events, QoS 1, store and forward on): "
        f"queued {queued:,.0f} msg/s, delivered end to end {delivered:,.0f} msg/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
