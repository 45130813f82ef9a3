"""Writes that do not come from a spec (a Modbus client writing a zone, any later service):
the engine's one entry point for them, so they are applies like any other: under the apply
lock, lockout-checked, journaled as a history entry and verified by re-observing.

Services call `write_now` and never a driver; they map the typed outcome to their own
protocol (a Modbus exception code), never the message text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from reconciler.engine.applier import apply_plan
from reconciler.engine.change import Change, Plan
from reconciler.engine.checked import refusals
from reconciler.engine.document import apply_changes
from reconciler.engine.ports import Backend, SecretLookup
from reconciler.engine.risk import classify
from reconciler.engine.store import LockedError, Store

WRITTEN = "written"
"""History status of a successful service write: not an `applied` spec (rollback and the
status endpoint's last applied spec skip it)."""

Outcome = Literal["written", "busy", "refused", "failed", "unavailable"]


@dataclass(frozen=True)
class WriteResult:
    outcome: Outcome
    error: str | None = None
    apply_id: int | None = None


def _outcome(failure: str | None) -> Outcome:
    if failure == "refused":
        return "refused"
    if failure == "unavailable":
        return "unavailable"
    return "failed"


def write_now(
    backend: Backend,
    store: Store,
    device: str,
    changes: Sequence[Change],
    *,
    source: str,
    secrets: SecretLookup,
    status_port: int | None = None,
) -> WriteResult:
    """Apply `changes` now as one journaled apply; `busy` (nothing changed) while another
    apply holds the state dir, `refused` when they would lock operators out."""
    try:
        with store.lock():
            observed = backend.observe()
            found = refusals(observed, changes, status_port=status_port)
            if found:
                error = "; ".join(found)
                apply_id = store.record_event(device, backend.name, source, "refused", error)
                return WriteResult("refused", error, apply_id)
            desired = apply_changes(observed, changes)
            rated = tuple(dataclasses.replace(c, risk=classify(c.path)[0]) for c in changes)
            plan = Plan(device, backend.name, rated)
            result = apply_plan(
                plan,
                backend,
                store,
                desired=desired,
                source=source,
                secrets=secrets,
                document={},
                applied_status=WRITTEN,
            )
    except LockedError as exc:
        return WriteResult("busy", str(exc))
    if result.status == WRITTEN:
        return WriteResult("written", None, result.apply_id)
    return WriteResult(_outcome(result.failure), result.error, result.apply_id)
