"""Software update policy (gateway doc: Software Update API settings, system reboot).

The doc pairs a boolean with an expression (autoScan + autoScanExpression, enableScheduler
+ cronSchedule); here one field holds the cron expression, or false to switch it off, so a
single key says both whether and when.
"""

import re
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

from reconciler.profiles import HardwareProfile, RebootSchedule
from reconciler.spec.base import Cron, Loc, SpecModel, _cron


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
    """Scheduled reboots, or false (doc: enableScheduler + cronSchedule). Held to the model's
    own scheduler: on AIG-302 minute 0 of an hour 0..9 on listed weekdays 0..6, as in
    "0 3 * * 0,3"; models without such a limit take any 5-field cron."""
    maintenance_window: MaintenanceWindow | None = None
    """Updates and scheduled reboots start only inside this window."""


def _fits(cron: str, limit: RebootSchedule) -> bool:
    minute, hour, day, month, weekdays = cron.split()
    return (
        minute.isdigit()
        and int(minute) in limit.minutes
        and hour.isdigit()
        and int(hour) in limit.hours
        and (day, month) == ("*", "*")
        and re.fullmatch(r"[0-6](,[0-6])*", weekdays) is not None
    )


def _closest(cron: str, limit: RebootSchedule) -> str | None:
    """The schedule the model takes nearest to `cron`: same hour and weekdays, the first
    allowed minute, `*` weekdays listed; None when the hour itself is not allowed."""
    _, hour, _, _, weekdays = cron.split()
    if not (hour.isdigit() and int(hour) in limit.hours):
        return None
    days = "0,1,2,3,4,5,6" if weekdays in ("*", "0-6", "0-7") else weekdays
    guess = f"{limit.minutes[0]} {int(hour)} * * {days}"
    return guess if _fits(guess, limit) else None


def capability_problems(spec: UpdateSpec, profile: HardwareProfile) -> Iterator[tuple[Loc, str]]:
    """A reboot schedule the model's own scheduler cannot hold (AIG-302: minute 0, hours
    0..9), located at `rebootSchedule`, with the nearest one it takes."""
    cron, limit = spec.reboot_schedule, profile.reboot_schedule
    if not isinstance(cron, str) or limit is None or _fits(cron, limit):
        return
    hint = _closest(cron, limit)
    yield (
        ("rebootSchedule",),
        f"{profile.model} reboots only at {limit.rule}, not {cron!r}"
        + (f"; did you mean {hint!r}?" if hint else ""),
    )
