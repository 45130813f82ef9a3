"""Services the agent runs beside its loop, attached as listeners: each follows the spec
the loop enforces and keeps running between passes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.operations import Target
    from reconciler.services.modbus.service import ModbusService

log = logging.getLogger("reconciler.agent")


class ModbusListener:
    """Serves the spec's Modbus zones and polls its master devices (pymodbus loaded only
    when a spec has a modbus section)."""

    areas = frozenset({"modbus"})

    def __init__(self, state_dir: Path, backend_name: str) -> None:
        self.state_dir = state_dir
        self.backend_name = backend_name
        self.service: ModbusService | None = None
        self.current: Any = None

    def on_spec(self, target: Target, backend: Any) -> None:
        """(Re)configure when the modbus section changed; a failure is retried next pass."""
        spec = target.spec.spec.modbus
        if spec == self.current and self.service is not None:
            return
        if self.service is None:
            if spec is None:
                return
            from reconciler.operations import target_backend
            from reconciler.services.modbus.service import ModbusService

            # Its own backend instance: it reads and writes from its own thread.
            own = target_backend(self.backend_name, self.state_dir, target)
            self.service = ModbusService(own, self.state_dir)
            self.service.start(spec)
        else:
            self.service.reconfigure(spec)
        self.current = spec
        log.info("Modbus service configured from %s", target.source)

    def on_status(self, status: dict[str, Any]) -> None:
        """Zones read the reconciler's status from the state dir themselves."""

    def on_event(self, kind: str, data: dict[str, Any]) -> None:
        """Apply events do not concern the Modbus service."""

    def tags(self) -> dict[str, dict[str, Any]]:
        return self.service.tags() if self.service is not None else {}

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
            self.service = None


class StatusEndpointListener:
    """The read-only status endpoint (`--listen`), started as soon as the device's model is
    known (the last good spec at start, else the first spec rendered, whatever waits); it
    reads through its own backend instance (backends are not shared across threads) and
    serves the agent's status.json."""

    areas: frozenset[str] = frozenset()

    def __init__(
        self,
        listen: tuple[str, int],
        state_dir: Path,
        backend_name: str,
        secrets: Any,
        tls: tuple[str | None, str | None] = (None, None),
        tags: Any = None,
        cloud_connection: Any = None,
    ) -> None:
        self.tags = tags
        self.cloud_connection = cloud_connection
        self.listen = listen
        self.state_dir = state_dir
        self.backend_name = backend_name
        self.secrets = secrets
        self.tls = tls
        self.target: Target | None = None
        self.handle: Any = None

    def on_spec(self, target: Target, backend: Any) -> None:
        self.target = target
        if self.handle is not None:
            return
        from reconciler.api.context import ApiContext
        from reconciler.api.server import start_status_server
        from reconciler.operations import target_backend

        context = ApiContext(
            backend=target_backend(self.backend_name, self.state_dir, target),
            state_dir=self.state_dir,
            secrets=self.secrets,
            target=lambda: self.target,
            mode="agent",
            status_port=self.listen[1],
            tags=self.tags,
            cloud_connection=self.cloud_connection,
        )
        self.handle = start_status_server(
            context, self.listen, tls_cert=self.tls[0], tls_key=self.tls[1]
        )
        log.info("status endpoint on %s", self.handle.url)

    def on_status(self, status: dict[str, Any]) -> None:
        """The endpoint reads status.json itself."""

    def on_event(self, kind: str, data: dict[str, Any]) -> None:
        """Apply events show up in the endpoint's status and history."""

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.stop()
            self.handle = None
