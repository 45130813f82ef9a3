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

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
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
            from reconciler.services.modbus.service import ModbusService

            self.service = ModbusService(backend, self.state_dir)
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
