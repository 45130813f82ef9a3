"""Simulated devices for `reconcile fleet ...` tests and bench/fleet_status.py: a fleet
repo of N devices, and their retained status messages on a real broker, built with the
uplink's own message models (so they are what agents publish), offline ones through a real
MQTT will."""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from reconciler.services.mqtt.messages import Offline, Status, build, stamp

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Endpoint:
    """How a simulated device reaches a broker."""

    port: int
    host: str = LOOPBACK
    tls: ssl.SSLContext | None = None
    username: str | None = None
    password: str | None = None


def write_repo(root: Path, devices: dict[str, dict[str, str]], groups: dict[str, str]) -> str:
    """A committed fleet repo: devices name -> labels, groups name -> `k: v` selector.
    Returns the commit."""
    (root / "devices").mkdir(parents=True, exist_ok=True)
    (root / "groups").mkdir(exist_ok=True)
    (root / "fleet.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Fleet\nspec: {system: {timezone: UTC}}\n"
    )
    for name, selector in groups.items():
        (root / "groups" / f"{name}.yaml").write_text(
            "apiVersion: reconciler/v1\nkind: Group\n"
            f"metadata: {{name: {name}}}\nselector: {{{selector}}}\npriority: 10\nspec: {{}}\n"
        )
    for name, labels in devices.items():
        flow = ", ".join(f"{k}: {v}" for k, v in labels.items())
        (root / "devices" / f"{name}.yaml").write_text(
            "apiVersion: reconciler/v1\nkind: Device\n"
            f"metadata: {{name: {name}, model: UNO-2484G, labels: {{{flow}}}}}\n"
        )
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "fleet"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    return head.stdout.strip()


def status(
    name: str,
    state: str,
    commit: str | None,
    seq: int = 1,
    drift: int = 0,
    operations: list[dict[str, Any]] | None = None,
) -> bytes:
    """The retained status an agent publishes (the uplink's Status model)."""
    fields: dict[str, Any] = {
        "operations": operations or [],
        "syncState": state,
        "lastFetchedCommit": commit,
        "lastAppliedCommit": commit,
        "lastAppliedAt": "2026-12-02T10:00:00Z" if commit else None,
        "drift": [{"path": f"watchdog.p{i}", "op": "replace", "risk": "low"} for i in range(drift)],
    }
    return build(Status, fields, device=name, seq=seq, time=stamp())


def offline(name: str) -> bytes:
    return build(Offline, {}, device=name, reason="connectionLost")


def _client(endpoint: Endpoint, client_id: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    if endpoint.tls is not None:
        client.tls_set_context(endpoint.tls)
    if endpoint.username is not None:
        client.username_pw_set(endpoint.username, endpoint.password)
    return client


def publish_retained(
    endpoint: Endpoint, messages: Iterable[tuple[str, bytes]], client_id: str = "sim-fleet"
) -> int:
    """One connection publishes every (topic, payload) retained at QoS 1 and waits until the
    broker acknowledged them all; the number published."""
    client = _client(endpoint, client_id)
    client.max_inflight_messages_set(1000)
    client.connect(endpoint.host, endpoint.port, keepalive=30)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1, retain=True) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(60)
        assert info.is_published(), "the broker did not acknowledge a retained status"
    client.disconnect()
    client.loop_stop()
    return len(infos)


def vanish(endpoint: Endpoint, prefix: str, name: str, last_status: bytes) -> None:
    """A device that connects with the uplink's will, reports, then loses its connection
    without a DISCONNECT: the broker publishes (and retains) the will."""
    client = _client(endpoint, f"sim-{name}")
    topic = f"{prefix}/{name}/status"
    client.will_set(topic, offline(name), qos=1, retain=True)
    client.connect(endpoint.host, endpoint.port, keepalive=30)
    client.loop_start()
    client.publish(topic, last_status, qos=1, retain=True).wait_for_publish(30)
    client.loop_stop()
    sock = client.socket()
    assert isinstance(sock, socket.socket | ssl.SSLSocket)
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()
