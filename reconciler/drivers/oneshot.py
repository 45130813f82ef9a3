"""Running one-shot operations, shared by the backends: each `add` of the operations area
runs its action once and is recorded as {name, action, result, at[, detail]}.

The record is saved before the action runs (result `running`), so an action that takes
the device down (reboot) or a crash never runs twice: at most once per name. An action an
update lock defers is not recorded (it runs on a later pass); the others still run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from reconciler.drivers.updatelock import update_lock
from reconciler.engine.change import Change
from reconciler.errors import DeviceDeferred, DeviceError, DeviceFailed

LOCKED = frozenset({"reboot", "shutdown", "restartService"})
"""Actions an update lock held by an application defers."""

Record = list[dict[str, Any]]
Perform = Callable[[dict[str, Any]], str]
"""Runs one operation; returns a detail for the record (''), raises DeviceError on failure."""


def run_operations(
    changes: Sequence[Change],
    record: Record,
    save: Callable[[Record], None],
    perform: Perform,
    lock: Path,
) -> None:
    """Run the operations `changes` add that `record` lacks; raises DeviceFailed if any
    failed, else DeviceDeferred if any waits for the update lock."""
    failed: list[str] = []
    deferred: list[str] = []
    for change in changes:
        op = change.after
        if change.op != "add" or not isinstance(op, dict):
            continue
        name = str(op["name"])
        if any(r.get("name") == name for r in record):
            continue
        guard: AbstractContextManager[None] = (
            update_lock(lock) if op["action"] in LOCKED else nullcontext()
        )
        try:
            with guard:
                _run_one(op, record, save, perform, failed)
        except DeviceDeferred as exc:
            deferred.append(f"operations[{name}]: {exc}")
    if failed:
        raise DeviceFailed("; ".join(failed))
    if deferred:
        raise DeviceDeferred("; ".join(deferred))


def _run_one(
    op: dict[str, Any],
    record: Record,
    save: Callable[[Record], None],
    perform: Perform,
    failed: list[str],
) -> None:
    from reconciler.syncstatus import iso  # its models cost a plan's start; a run only

    entry: dict[str, Any] = {
        "name": op["name"],
        "action": op["action"],
        "result": "running",
        "at": iso(),
    }
    record.append(entry)
    save(record)
    try:
        detail = perform(op)
        entry["result"] = "ok"
    except DeviceError as exc:
        detail = str(exc)
        entry["result"] = "failed"
        failed.append(f"operations[{op['name']}]: {exc}")
    if detail:
        entry["detail"] = detail
    save(record)
