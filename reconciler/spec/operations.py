"""One-shot operations: reboot, shutdown, blink, restart a service or run a command.

Each runs at most once per device per `name`: the device records what it ran (name,
action, result, time) and the planner adds only names not recorded yet. Renaming an
operation is how it runs again; removing one from the spec undoes nothing. An operation
whose `notBefore` lies in the future is not planned until then. Reboot and shutdown wait
for the maintenance window unless `window: false`; an update lock an application holds
defers reboot, shutdown and restartService to a later pass.
"""

from datetime import UTC, datetime
from typing import Any, Literal, Self

from pydantic import Field, model_validator

from reconciler.spec.base import Name, SpecModel
from reconciler.spec.services import ServiceName

Action = Literal["reboot", "shutdown", "blink", "restartService", "command"]
WINDOWED: frozenset[str] = frozenset({"reboot", "shutdown"})
"""Actions that wait for the maintenance window unless the spec says `window: false`."""


class Operation(SpecModel):
    name: Name
    """Runs once per device per name; rename it to run it again."""
    action: Action
    """reboot | shutdown | blink | restartService | command."""
    service: ServiceName | None = None
    """The systemd service to restart (restartService only), without `.service`."""
    command: list[str] | None = Field(default=None, min_length=1)
    """argv of the command (command only): run without a shell, with a timeout."""
    timeout_seconds: int = Field(default=300, ge=1, le=3600)
    """How long a command may run before it is stopped and counted failed."""
    not_before: datetime | None = None
    """ISO 8601 time before which the operation is not planned (no offset: UTC)."""
    window: bool | None = None
    """Wait for update.maintenanceWindow (default: true for reboot and shutdown)."""

    @model_validator(mode="after")
    def _fields_of_action(self) -> Self:
        if self.action == "restartService" and self.service is None:
            raise ValueError("restartService needs `service` (the systemd service to restart)")
        if self.action != "restartService" and self.service is not None:
            raise ValueError(f"`service` is for restartService, not {self.action}")
        if self.action == "command" and self.command is None:
            raise ValueError("command needs `command` (an argv list, run without a shell)")
        if self.action != "command" and self.command is not None:
            raise ValueError(f"`command` is for the command action, not {self.action}")
        if self.command is not None and not self.command[0]:
            raise ValueError("`command` starts with an empty program name")
        return self

    def due(self, now: datetime) -> bool:
        if self.not_before is None:
            return True
        when = self.not_before
        return (when if when.tzinfo else when.replace(tzinfo=UTC)) <= now


def desired_operations(
    operations: list[Operation], now: datetime | None = None
) -> list[dict[str, Any]]:
    """The planner's view: the operations due at `now`, each with its effective window and
    timeout (what the gate and the driver read)."""
    moment = now or datetime.now(UTC)
    out: list[dict[str, Any]] = []
    for op in operations:
        if not op.due(moment):
            continue
        item: dict[str, Any] = {"name": op.name, "action": op.action}
        if op.service is not None:
            item["service"] = op.service
        if op.command is not None:
            item["command"] = list(op.command)
            item["timeoutSeconds"] = op.timeout_seconds
        item["window"] = op.window if op.window is not None else op.action in WINDOWED
        out.append(item)
    return out
