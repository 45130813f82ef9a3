"""MqttUplink against a real mosquitto on loopback: what it publishes (status, state,
telemetry, events) on which topics, retained status and its offline counterpart, MQTT 3.1.1
and 5, credentials, websockets, reconfiguration, and sync triggers in."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mqtt_broker import Broker, Certs, Collector, Received, events, wait_until
from testkit import SECRETS
from uplink_kit import (
    DEVICE,
    PREFIX,
    SECRET_VALUES,
    TOPIC,
    Uplinks,
    add_secret,
    device_target,
    message_validator,
    plain,
)

from reconciler.engine.credentials import fingerprint
from reconciler.services.mqtt.uplink import MqttUplink

STATUS: dict[str, Any] = {
    "device": DEVICE,
    "source": {"url": "https://token:x-oauth@git.example/fleet.git"},
    "syncState": "Synced",
    "lastFetchedCommit": "c0ffee",
    "lastFetchedAt": "2025-01-01T00:00:00Z",
    "lastAppliedCommit": "c0ffee",
    "lastAppliedAt": "2025-01-01T00:00:00Z",
    "drift": [{"path": "system.description", "op": "replace", "risk": "none"}],
    "waiting": [],
    "rejected": None,
    "conditions": [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Synced",
            "message": "c0ffee",
            "lastTransitionTime": "2025-01-01T00:00:00Z",
        }
    ],
    "lastPlan": {"commit": "c0ffee", "summary": {"add": 0, "change": 1, "remove": 0}, "at": "x"},
    "updatedAt": "2025-01-01T00:00:00Z",
}


def assert_clean(received: list[Any]) -> None:
    """Every payload matches the documented schema and holds no secret, nor a fingerprint."""
    validator = message_validator()
    for message in received:
        errors = [e.message for e in validator.iter_errors(message.data)]
        assert not errors, (message.topic, errors)
        text = message.payload.decode()
        for value in SECRET_VALUES:
            assert value not in text, message.topic
        assert "fp:sha256:" not in text
        assert "x-oauth" not in text


@pytest.mark.parametrize("version", ["3.1.1", "5"])
def test_publishes_status_state_and_telemetry(
    version: str, broker: Broker, collect: Callable[..., Collector], uplinks: Uplinks
) -> None:
    uplinks.backend.set_out_of_band(
        "cloud", {"mqtt": {"host": "127.0.0.1", "password": fingerprint(SECRETS["mqtt-password"])}}
    )
    collector = collect(broker)
    spec = plain(
        broker,
        protocolVersion=version,
        username="edge-01",
        password={"secretRef": "mqtt-password"},
        reportIntervalSec=1,
        keepAliveSec=10,
        qos=1,
        cleanSession=version == "3.1.1",
    )
    uplink = uplinks.start(spec)
    uplink.on_status(STATUS)

    status = collector.wait_for("status", lambda m: m.topic == f"{TOPIC}/status")
    assert status.retain is False  # live delivery; the broker keeps it retained for later
    assert status.data["online"] is True
    assert status.data["syncState"] == "Synced"
    assert status.data["drift"] == STATUS["drift"]
    assert "source" not in status.data
    state = collector.wait_for("state", lambda m: m.topic == f"{TOPIC}/state").data
    assert state["state"]["cloud"]["mqtt"]["password"] == "(sensitive)"
    assert state["state"]["system"]["hostname"]
    first = collector.wait_for("telemetry", lambda m: m.topic == f"{TOPIC}/telemetry")
    assert "cpuPercent" in first.data["telemetry"]["system"]
    assert "hostname" not in first.data["telemetry"]["system"]  # configuration is state
    collector.wait_for(
        "a second telemetry sample",
        lambda m: m.topic == f"{TOPIC}/telemetry" and m.data["seq"] > first.data["seq"],
    )
    assert uplink.connection_state() == {
        "enabled": True,
        "status": "connected",
        "certRevoked": False,
        "stormDetected": False,
    }

    # A status that differs only in per-pass timestamps is not sent again; a change is.
    uplink.on_status({**STATUS, "lastFetchedAt": "2025-01-01T00:01:00Z"})
    uplink.on_status({**STATUS, "syncState": "OutOfSync"})
    collector.wait_for("changed status", lambda m: m.data.get("syncState") == "OutOfSync")
    assert len(collector.messages("/status")) == 2

    # A late subscriber gets the retained status; after stop() it reads "offline".
    late = collect(broker, [f"{TOPIC}/status"])
    retained = late.wait_for("retained status", lambda m: m.retain)
    assert retained.data["syncState"] == "OutOfSync"
    uplink.stop()
    offline = collector.wait_for("offline", lambda m: m.data.get("online") is False)
    assert offline.data["reason"] == "stopped"
    after = collect(broker, [f"{TOPIC}/status"])
    assert after.wait_for("retained offline", lambda m: m.retain).data["online"] is False
    assert_clean(collector.messages())


def connected(uplink: MqttUplink) -> bool:
    return uplink.connection_state()["status"] == "connected"


def online(collector: Collector, topic: str = TOPIC) -> Received:
    """The uplink's status arrived: it is connected and subscribed (the broker handled its
    SUBSCRIBE before the PUBLISH that followed on the same connection)."""
    return collector.wait_for(
        "online status", lambda m: m.topic == f"{topic}/status" and m.data["online"] is True
    )


def test_password_from_secret_and_refusal(
    new_broker: Callable[..., Broker],
    collect: Callable[..., Collector],
    uplinks: Uplinks,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    broker = new_broker(passwords={"edge-01": SECRETS["mqtt-password"]})
    uplink = uplinks.start(
        plain(broker, username="edge-01", password={"secretRef": "mqtt-password"})
    )
    wait_until("connected with the password", lambda: connected(uplink))

    # A rotated secret reconnects with it (here: a wrong one, which the broker refuses).
    add_secret(uplinks.secrets_dir, "mqtt-password", "wrong-Secret-Value-00")
    uplink.on_spec(
        device_target(plain(broker, username="edge-01", password={"secretRef": "mqtt-password"})),
        uplinks.backend,
    )
    error = wait_until("refusal", lambda: uplink.diagnostics()["lastError"])
    assert "refused the connection" in error and "authorized" in error.lower()
    assert not connected(uplink)

    # A missing secret is reported by name; nothing connects.
    uplink.on_spec(
        device_target(plain(broker, username="edge-01", password={"secretRef": "nope"})),
        uplinks.backend,
    )
    assert "cloud.mqtt.password" in uplink.diagnostics()["lastError"]
    assert "'nope' not found" in uplink.diagnostics()["lastError"]
    for value in (SECRETS["mqtt-password"], "wrong-Secret-Value-00"):
        assert value not in caplog.text
        for path in uplinks.state_dir.rglob("*"):
            assert not path.is_file() or value.encode() not in path.read_bytes()


def tls_spec(broker: Broker, secrets_dir: Path, certs: Certs, **more: Any) -> dict[str, Any]:
    """TLS with the test CA and the client certificate, both from secrets."""
    for name, path in (
        ("mqtt-ca", certs.ca),
        ("mqtt-client-cert", certs.client_cert),
        ("mqtt-client-key", certs.client_key),
    ):
        add_secret(secrets_dir, name, path.read_text())
    tls = {
        "caCert": {"secretRef": "mqtt-ca"},
        "clientCert": {"secretRef": "mqtt-client-cert"},
        "clientKey": {"secretRef": "mqtt-client-key"},
    }
    return plain(broker, tls=tls, **more)


def test_tls_with_ca_and_client_certificate(
    new_broker: Callable[..., Broker],
    certs: Certs,
    collect: Callable[..., Collector],
    uplinks: Uplinks,
) -> None:
    broker = new_broker(certs=certs, require_certificate=True)
    collector = collect(broker)
    spec = tls_spec(broker, uplinks.secrets_dir, certs)
    uplink = uplinks.start(spec)
    uplink.on_status(STATUS)
    online(collector)
    assert uplink.redacted_config() == {
        "username": "",
        "password": "",
        "mqttHost": "127.0.0.1",
        "mqttPort": broker.port,
        "enableTLS": True,
        "overWebSocket": False,
        "connectionString": "",
        "mac": "",
        "uuid": "",
        "skipCertVerify": False,
        "deviceTokenCredential": "",
        "caCerts": ["(sensitive)"],
        "iothubKey": "",
        "iothubCert": "",
        "mqttKey": "(sensitive)",
        "mqttCert": "(sensitive)",
    }
    key_body = certs.client_key.read_text().splitlines()[1]
    for path in uplinks.state_dir.rglob("*"):
        assert not path.is_file() or key_body.encode() not in path.read_bytes()

    # Without the client certificate the broker refuses the handshake.
    del spec["tls"]["clientCert"], spec["tls"]["clientKey"]
    uplink.on_spec(device_target(spec), uplinks.backend)
    error = wait_until("a refused handshake", lambda: uplink.diagnostics()["lastError"])
    assert not connected(uplink), error


def test_tls_untrusted_server_needs_explicit_skip_verify(
    new_broker: Callable[..., Broker], certs: Certs, uplinks: Uplinks
) -> None:
    broker = new_broker(certs=certs)
    uplink = uplinks.start(plain(broker, tls=True))  # the system CAs do not know the test CA
    error = wait_until("verification failure", lambda: uplink.diagnostics()["lastError"])
    assert "certificate" in error and not connected(uplink)
    uplink.on_spec(device_target(plain(broker, tls=True, insecureSkipVerify=True)), uplinks.backend)
    wait_until("connected without verification", lambda: connected(uplink))
    assert uplink.redacted_config()["skipCertVerify"] is True  # type: ignore[index]


@pytest.mark.parametrize("secure", [False, True], ids=["ws", "wss"])
def test_websocket(
    secure: bool,
    new_broker: Callable[..., Broker],
    certs: Certs,
    collect: Callable[..., Collector],
    uplinks: Uplinks,
) -> None:
    broker = new_broker(websocket=True, certs=certs if secure else None)
    collector = collect(broker)
    spec = tls_spec(broker, uplinks.secrets_dir, certs) if secure else plain(broker)
    spec.update(port=broker.ws_port, websocket=True, websocketPath="/mqtt")
    uplink = uplinks.start(spec)
    uplink.on_status(STATUS)
    online(collector)
    assert uplink.redacted_config()["overWebSocket"] is True  # type: ignore[index]


def test_sync_triggers(broker: Broker, collect: Callable[..., Collector], uplinks: Uplinks) -> None:
    collector = collect(broker)
    collector.publish(f"{PREFIX}/fleet/sync", b"{}", retain=True)  # stale: must be ignored
    uplink = uplinks.start(plain(broker))
    uplink.on_status(STATUS)
    online(collector)
    for bad in (b"x" * 2000, b"not json", b'{"spec": {"system": {}}}', b"[1]"):
        collector.publish(f"{TOPIC}/sync", bad)
    collector.publish(f"{TOPIC}/sync", b'{"requestId": "r-1", "reason": "hotfix"}')
    collector.publish(f"{PREFIX}/fleet/sync", b"")
    collector.publish(f"{PREFIX}/other-device/sync", b"{}")  # not ours: not subscribed
    fleet = collector.wait_for(
        "fleet sync event", lambda m: m.topic.endswith("/events") and m.data["scope"] == "fleet"
    )
    requested = [e for e in events(collector) if e["event"] == "sync.requested"]
    assert [(e["scope"], e["requestId"], e["reason"]) for e in requested] == [
        ("device", "r-1", "hotfix"),
        ("fleet", None, None),
    ]
    assert len(uplinks.syncs) == 2
    assert fleet.data["device"] == DEVICE
    assert_clean(collector.messages())


def test_reconfigure_disable_and_remove(
    new_broker: Callable[..., Broker], collect: Callable[..., Collector], uplinks: Uplinks
) -> None:
    first, second = new_broker(), new_broker()
    on_first, on_second = collect(first), collect(second)
    uplink = uplinks.start(plain(first))
    uplink.on_status(STATUS)
    online(on_first)

    uplink.on_spec(device_target(plain(second)), uplinks.backend)
    online(on_second)
    gone = on_first.wait_for("offline on the old broker", lambda m: m.data.get("online") is False)
    assert gone.data["reason"] == "reconfigured"

    uplink.on_spec(device_target(plain(second, enabled=False)), uplinks.backend)
    off = on_second.wait_for("offline when disabled", lambda m: m.data.get("online") is False)
    assert off.data["reason"] == "disabled"
    assert uplink.connection_state()["enabled"] is False
    assert uplink.connection_state()["status"] == "disconnected"
    assert uplink.redacted_config() is not None

    uplink.on_spec(device_target(None), uplinks.backend)
    assert uplink.redacted_config() is None
    assert not (uplinks.state_dir / "mqtt" / "spec.json").exists()


def apply_result(commit: str) -> dict[str, Any]:
    """What the agent emits after an apply (device included, as Agent.emit adds it)."""
    return {
        "device": DEVICE,
        "commit": commit,
        "status": "applied",
        "applied": 1,
        "error": None,
        "applyId": 1,
    }


def commits(collector: Collector, event: str = "apply.result") -> list[str]:
    return [e["commit"] for e in events(collector) if e["event"] == event]


def test_broker_restart_delivers_the_queue_in_order(
    broker: Broker, collect: Callable[..., Collector], uplinks: Uplinks
) -> None:
    collector = collect(broker)
    uplink = uplinks.start(plain(broker, storeAndForward={"enable": True}))
    uplink.on_status(STATUS)
    online(collector)
    for i in range(5):
        uplink.on_event("apply.result", apply_result(f"c{i}"))
    wait_until("live events", lambda: commits(collector)[-1:] == ["c4"])

    broker.stop()
    wait_until("disconnected", lambda: not connected(uplink))
    for i in range(5, 40):
        uplink.on_event("apply.result", apply_result(f"c{i}"))
    uplink.on_status({**STATUS, "syncState": "Progressing"})
    assert uplink.diagnostics()["queued"] >= 36
    broker.start()

    wait_until("queued events", lambda: commits(collector)[-1:] == ["c39"], timeout=40)
    assert commits(collector) == [f"c{i}" for i in range(40)]
    seqs = [e["seq"] for e in events(collector, "")]
    assert seqs == sorted(seqs)
    wait_until("queue drained", lambda: uplink.diagnostics()["queued"] == 0)
    assert uplink.diagnostics()["dropped"] == 0
    assert_clean(collector.messages())


def test_uplink_restart_delivers_what_was_queued(
    broker: Broker, collect: Callable[..., Collector], uplinks: Uplinks
) -> None:
    collector = collect(broker)
    first = uplinks.start(plain(broker, storeAndForward={"enable": True}))
    first.on_status(STATUS)
    online(collector)
    broker.stop()
    wait_until("disconnected", lambda: not connected(first))
    for i in range(10):
        first.on_event("apply.result", apply_result(f"q{i}"))
    first.stop()
    queue = uplinks.state_dir / "mqtt" / "outbox.sqlite3"
    with sqlite3.connect(queue) as db:
        assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] >= 10

    second = uplinks.open()  # remembers the settings: no spec from the agent needed yet
    broker.start()
    wait_until("queued events after restart", lambda: commits(collector)[-1:] == ["q9"])
    assert commits(collector) == [f"q{i}" for i in range(10)]
    assert connected(second)


def test_without_store_and_forward_offline_messages_are_dropped(
    broker: Broker, collect: Callable[..., Collector], uplinks: Uplinks
) -> None:
    collector = collect(broker)
    uplink = uplinks.start(plain(broker))
    uplink.on_status(STATUS)
    online(collector)
    broker.stop()
    wait_until("disconnected", lambda: not connected(uplink))
    before = uplink.diagnostics()["dropped"]
    for i in range(3):
        uplink.on_event("apply.result", apply_result(f"lost{i}"))
    assert uplink.diagnostics()["dropped"] == before + 3
    broker.start()
    wait_until("reconnected", lambda: connected(uplink))
    uplink.on_event("apply.result", apply_result("kept"))
    wait_until("the live event", lambda: commits(collector) == ["kept"])
    statuses = [m for m in collector.messages("/status") if m.data["online"]]
    assert len(statuses) == 2  # the current status again on reconnect, over the will
