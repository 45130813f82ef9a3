"""Software update policy (gateway doc: Software Update API settings, system reboot).

The doc pairs a boolean with an expression (autoScan + autoScanExpression, enableScheduler
+ cronSchedule); here one field holds the cron expression, or false to switch it off, so a
single key says both whether and when.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

from reconciler.spec.base import Cron, SpecModel, _cron


def _cron_or_off(value: Any) -> Any:
    if value is False:
        return False
    if not isinstance(value, str):
        raise ValueError(f"expected a 5-field cron expression or false, not {value!r}")
    return _cron(value)


CronOrOff = Annotated[
    str | bool,
    BeforeValidator(_cron_or_off),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "description": "5-field cron"}, {"const": False}]}
    ),
]
"""A 5-field cron expression, or false for never."""


class MaintenanceWindow(SpecModel):
    """When disruptive work (updates, reboots, risky applies) may start, and for how long."""

    cron: Cron
    """Start of each window, a 5-field cron expression in the device's time zone."""
    duration_minutes: int = Field(ge=1, le=1440)
    """Length of each window, 1..1440 minutes."""


class UpdateSpec(SpecModel):
    allow_update: bool | None = None
    """Allow software updates at all (doc: allowUpdate)."""
    allow_over_cellular: bool | None = None
    """Allow downloading updates over a cellular link (doc: allowOverCellular)."""
    snapshot_before_update: bool | None = None
    """Take a system snapshot to roll back to before each update (doc: snapshotBeforeUpdate)."""
    allow_reboot: bool | None = None
    """Reboot automatically after a successful upgrade (doc: allowReboot)."""
    auto_scan: CronOrOff | None = None
    """When to look for updates, or false (doc: autoScan + autoScanExpression)."""
    reboot_schedule: CronOrOff | None = None
    """Scheduled reboots, or false (doc: enableScheduler + cronSchedule; the gateway itself
    only takes minute 0 of hours 0..9 on chosen weekdays, other backends take any cron)."""
    maintenance_window: MaintenanceWindow | None = None
    """Updates and scheduled reboots start only inside this window."""
