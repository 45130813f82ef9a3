"""Helpers for driving MqttUplink directly: specs as YAML would have them, a simulated
device, and uplinks that record the sync triggers they pass on."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jsonschema
from mqtt_broker import Broker
from testkit import SECRETS

from reconciler.drivers.sim.backend import SimBackend
from reconciler.operations import Target
from reconciler.secrets import SecretResolver
from reconciler.services.mqtt.uplink import MqttUplink
from reconciler.spec.device import DeviceSpec

REPO = Path(__file__).resolve().parents[3]
DEVICE = "edge-01"
PREFIX = "plants/t"
TOPIC = f"{PREFIX}/{DEVICE}"
SECRET_VALUES = [v for v in SECRETS.values() if len(v) >= 8]
"""The test secrets to look for in payloads, logs and files (not the 4-digit PIN, which
readings and binary files contain by chance)."""


def device_target(mqtt: dict[str, Any] | None, name: str = DEVICE) -> Target:
    """A device whose spec is only the cloud.mqtt section (as in YAML, camelCase)."""
    document: dict[str, Any] = {
        "apiVersion": "reconciler/v1",
        "kind": "Device",
        "metadata": {"name": name, "model": "UNO-2484G"},
        "spec": {"cloud": {"mqtt": mqtt}} if mqtt is not None else {},
    }
    return Target(DeviceSpec.model_validate(document), "test")


def plain(broker: Broker, **more: Any) -> dict[str, Any]:
    """cloud.mqtt for `broker` over plain TCP."""
    return {"host": "127.0.0.1", "port": broker.port, "topicPrefix": PREFIX, **more}


def add_secret(secrets_dir: Path, name: str, value: str) -> None:
    path = secrets_dir / name
    path.write_text(value)
    path.chmod(0o600)


def message_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((REPO / "schemas" / "mqtt-messages.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


class Uplinks:
    """Uplinks on one simulated device, with the times their sync callback was called;
    every one opened is stopped by stop_all()."""

    def __init__(self, root: Path, secrets_dir: Path) -> None:
        self.state_dir = root / "state"
        self.backend = SimBackend.open(self.state_dir, "UNO-2484G")
        self.secrets_dir = secrets_dir
        self.syncs: list[float] = []
        self.opened: list[MqttUplink] = []

    def open(self) -> MqttUplink:
        uplink = MqttUplink(
            DEVICE,
            self.state_dir,
            SecretResolver(self.secrets_dir),
            lambda: self.syncs.append(time.monotonic()),
        )
        self.opened.append(uplink)
        return uplink

    def start(self, mqtt: dict[str, Any]) -> MqttUplink:
        uplink = self.open()
        uplink.on_spec(device_target(mqtt), self.backend)
        return uplink

    def stop_all(self) -> None:
        for uplink in self.opened:
            uplink.stop()
