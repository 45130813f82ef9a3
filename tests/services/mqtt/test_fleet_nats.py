"""The fleet view on a clustered broker: a 3-node NATS cluster (JetStream, MQTT on every
node, streams replicated 3 times). Devices report to two nodes, one of them a real
MqttUplink (MQTT 3.1.1, QoS 0 and 1); that node is then killed and `fleet status` asks the
third: nothing is missing."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fleet_sim import Endpoint, publish_retained, status, vanish, write_repo
from mqtt_broker import Collector
from nats_cluster import NATS_SERVER, NO_NATS, NatsCluster
from testkit import reconcile_cmd, subprocess_env
from uplink_kit import DEVICE, PREFIX, Uplinks


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    if NATS_SERVER is None:
        pytest.skip(NO_NATS)
    nats = NatsCluster(tmp_path / "nats")
    nats.start()
    yield nats
    nats.stop()


@pytest.mark.parametrize("qos", [0, 1])
def test_nothing_missing_with_one_node_down(
    qos: int, tmp_path: Path, cluster: NatsCluster, uplinks: Uplinks
) -> None:
    n1, n2, n3 = cluster.nodes
    sims = [f"sim-{i:02d}" for i in range(24)]
    head = write_repo(tmp_path / "repo", {n: {"site": "x"} for n in [*sims, DEVICE]}, {})
    publish_retained(
        Endpoint(n1.port), ((f"{PREFIX}/{n}/status", status(n, "Synced", head)) for n in sims[:12])
    )
    publish_retained(
        Endpoint(n2.port),
        ((f"{PREFIX}/{n}/status", status(n, "Synced", head)) for n in sims[12:22]),
    )
    vanish(Endpoint(n2.port), PREFIX, sims[22], status(sims[22], "Synced", head))
    uplink = uplinks.start(
        {
            "host": "127.0.0.1",
            "port": n2.port,
            "topicPrefix": PREFIX,
            "qos": qos,
            "keepAliveSec": 10,
        }
    )
    uplink.on_status(_agent_status(head))
    seen = Collector(n3, [f"{PREFIX}/+/status"])  # type: ignore[arg-type]  # a Broker's port
    try:
        seen.wait_for("the uplink's status", lambda m: m.topic == f"{PREFIX}/{DEVICE}/status")
        seen.wait_for("the will", lambda m: sims[22] in m.topic and not m.data["online"])
    finally:
        seen.close()
    n2.kill()  # with the uplink and ten devices on it; a dead node sends no wills

    done = subprocess.run(
        [*reconcile_cmd(), "fleet", "status", str(tmp_path / "repo"), "--json",
         "--broker", f"mqtt://127.0.0.1:{n3.port}", "--prefix", PREFIX, "--timeout", "90"],
        capture_output=True, text=True, timeout=180, env=subprocess_env(),
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # one offline, one never reported
    out = json.loads(done.stdout)
    rows = {r["name"]: r for r in out["devices"]}
    assert out["summary"] | {"Synced": 23, "Offline": 1, "Unknown": 1} == out["summary"]
    assert sum(out["summary"].values()) == 25
    assert (
        rows[DEVICE] | {"online": True, "syncState": "Synced", "lastAppliedCommit": head}
        == rows[DEVICE]
    )
    assert rows[sims[22]]["online"] is False
    assert rows[sims[23]]["online"] is None


def _agent_status(commit: str) -> dict[str, Any]:
    return {
        "device": DEVICE,
        "syncState": "Synced",
        "lastFetchedCommit": commit,
        "lastAppliedCommit": commit,
        "lastAppliedAt": "2026-12-02T10:00:00Z",
        "drift": [],
        "waiting": [],
        "rejected": None,
        "conditions": [],
    }
