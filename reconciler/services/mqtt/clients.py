"""The spec's `cloud.clients` as live connections of the agent: one uplink connection per
client (its queue, reconnects and reporter are the uplink's), started, reconfigured and
stopped as the clients in the spec come, change and go."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from reconciler.services.mqtt import kinds, messages, sparkplug
from reconciler.services.mqtt.settings import Settings, SettingsError
from reconciler.services.mqtt.uplink import MqttUplink
from reconciler.spec.cloud import MqttSpec
from reconciler.spec.cloud_clients import CloudClient

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

    from reconciler.operations import Target

log = logging.getLogger("reconciler.mqtt")
CLIENTS_DIR = "mqtt-clients"
"""Under the state dir: one directory (its store-and-forward queue) per client name."""


def _now_ms() -> int:
    return int(time.time() * 1000)


def spec_clients(target: Target) -> list[CloudClient]:
    cloud = target.spec.spec.cloud
    return (cloud.clients or []) if cloud is not None else []


def _no_sync() -> None:
    """Clients take no sync triggers: only the agent's own uplink listens for them."""


class ClientConnection(MqttUplink):
    """One named client of cloud.clients, connected with its kind's settings."""

    def __init__(
        self, name: str, device: str, state_dir: Path, secrets: Callable[[str], str]
    ) -> None:
        super().__init__(device, state_dir, secrets, _no_sync, state_dir / CLIENTS_DIR / name)
        self.name = name
        self.label = f"cloud client {name}"
        self.bd_seq = -1
        """Sparkplug: the birth/death sequence of the current connection attempt."""
        self.node_seq = 0
        """Sparkplug: seq of the next NDATA (NBIRTH is 0)."""

    def on_spec(self, target: Target, backend: Any) -> None:
        """Reconnect when this client's entry (or a secret it names) changed."""
        self._backend_kind = (backend.name, backend.profile.model)
        found = [c for c in spec_clients(target) if c.name == self.name]
        self.configure(found[0] if found else None)

    def configure(self, client: CloudClient | None) -> None:
        """Connect as `client` asks (None or disabled: disconnect, leaving it offline)."""
        settings: Settings | None = None
        if client is not None and client.enable:
            try:
                settings = kinds.resolve(client, self.device, self.secrets)
            except SettingsError as exc:
                self._fail(str(exc))
        self._use(settings)

    # -- Sparkplug B: NBIRTH on connect, NDATA with its own seq, NDEATH as the will ----------

    def _will(self, settings: Settings) -> bytes:
        if settings.sparkplug is None:
            return super()._will(settings)
        self.bd_seq = (self.bd_seq + 1) % 256
        return sparkplug.death(self.bd_seq, _now_ms())

    def _farewell(self, settings: Settings, reason: str) -> tuple[str, bytes, bool] | None:
        if settings.sparkplug is None:
            return super()._farewell(settings, reason)
        group, node = settings.sparkplug
        return (
            sparkplug.topic(group, "NDEATH", node),
            sparkplug.death(self.bd_seq, _now_ms()),
            False,
        )

    def _born(self, client: mqtt.Client, settings: Settings) -> None:
        """NBIRTH, QoS 0, before the sender hands paho anything queued."""
        if settings.sparkplug is None:
            return
        group, node = settings.sparkplug
        last = None
        if self._status is not None:
            try:
                last = messages.build(
                    messages.Status, self._status, device=self.device, seq=1, time=messages.stamp()
                )
            except ValidationError as exc:
                log.warning("NBIRTH without the status metrics: %s", messages.problems(exc))
        client.publish(
            sparkplug.topic(group, "NBIRTH", node), sparkplug.birth(self.bd_seq, last, _now_ms())
        )
        self.node_seq = 1

    def _wire(self, settings: Settings, payload: bytes) -> bytes:
        """NDATA, numbered when sent (seq follows the NBIRTH of this connection)."""
        if settings.sparkplug is None:
            return payload
        seq, self.node_seq = self.node_seq, self.node_seq + 1
        return sparkplug.data(payload, seq, _now_ms())

    def _recall(self) -> MqttSpec | None:
        """A client is configured by the agent's first pass; its queue waits on disk."""
        return None


class CloudClients:
    """The AgentListener that keeps one ClientConnection per client in the spec."""

    areas = frozenset({"cloud"})
    """It takes no spec while a cloud change waits."""

    def __init__(self, device: str, state_dir: Path, secrets: Callable[[str], str]) -> None:
        self.device = device
        self.state_dir = state_dir
        self.secrets = secrets
        self.connections: dict[str, ClientConnection] = {}

    def on_spec(self, target: Target, backend: Any) -> None:
        names = [c.name for c in spec_clients(target)]
        for gone in [name for name in self.connections if name not in names]:
            log.info("cloud client %s removed from the spec: disconnecting", gone)
            self.connections.pop(gone).stop()
        for name in names:
            if name not in self.connections:
                self.connections[name] = ClientConnection(
                    name, self.device, self.state_dir, self.secrets
                )
            self.connections[name].on_spec(target, backend)

    def on_status(self, status: dict[str, Any]) -> None:
        for connection in self.connections.values():
            connection.on_status(status)

    def on_event(self, kind: str, data: dict[str, Any]) -> None:
        for connection in self.connections.values():
            connection.on_event(kind, data)

    def stop(self) -> None:
        for connection in self.connections.values():
            connection.stop()
        self.connections.clear()
