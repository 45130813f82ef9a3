"""The spec's `cloud.clients` as live connections of the agent: one uplink connection per
client (its queue, reconnects and reporter are the uplink's), started, reconfigured and
stopped as the clients in the spec come, change and go."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.services.mqtt import kinds
from reconciler.services.mqtt.settings import Settings, SettingsError
from reconciler.services.mqtt.uplink import MqttUplink
from reconciler.spec.cloud import MqttSpec
from reconciler.spec.cloud_clients import CloudClient

if TYPE_CHECKING:
    from reconciler.operations import Target

log = logging.getLogger("reconciler.mqtt")
CLIENTS_DIR = "mqtt-clients"
"""Under the state dir: one directory (its store-and-forward queue) per client name."""


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
        self.client: CloudClient | None = None

    def on_spec(self, target: Target, backend: Any) -> None:
        """Reconnect when this client's entry (or a secret it names) changed."""
        self._backend_kind = (backend.name, backend.profile.model)
        found = [c for c in spec_clients(target) if c.name == self.name]
        self.configure(found[0] if found else None)

    def configure(self, client: CloudClient | None) -> None:
        settings: Settings | None = None
        if client is not None and client.enable:
            try:
                settings = kinds.resolve(client, self.device, self.secrets)
            except SettingsError as exc:
                self._fail(str(exc))
        self.client = client
        self._use(settings)

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

    def diagnostics(self) -> dict[str, dict[str, Any]]:
        """Per client: connected, lastError, queued (for logs and tests; no secrets)."""
        return {name: c.diagnostics() for name, c in self.connections.items()}

    def stop(self) -> None:
        for connection in self.connections.values():
            connection.stop()
        self.connections.clear()
