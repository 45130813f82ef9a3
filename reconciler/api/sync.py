"""The reconciler's own read APIs: sync status, history and a fresh (read-only) plan.

Under the agent, status is the agent's status document. Under `reconcile serve` alone it
is computed the same shape: the last apply from history plus a plan against the device
now (Synced when the plan is empty). Without a spec, the spec of the last successful
apply stands in. All functions here block (device reads, SQLite): call them from threads.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from reconciler.api.readstore import HistoryReader
from reconciler.errors import OperationError
from reconciler.syncstatus import (
    SYNC_STATES,
    Drift,
    LastPlan,
    Source,
    SyncStatus,
    iso,
    read_status,
)

if TYPE_CHECKING:
    from reconciler.api.context import ApiContext
    from reconciler.engine.change import Plan
    from reconciler.engine.store import ApplyRecord
    from reconciler.operations import Target

UNKNOWN = "Unknown"
STATES = (*SYNC_STATES, UNKNOWN)


class NoSpec(LookupError):
    """No spec was given and history holds no successful apply to take one from."""


class SyncReader:
    """Reads for /reconciler/api/*: one instance per app; `backend_lock` guards the
    backend, which the hardware routes read too."""

    def __init__(self, context: ApiContext, backend_lock: threading.Lock) -> None:
        self.context = context
        self.history = HistoryReader(context.state_dir)
        self.backend_lock = backend_lock
        self._fallback: tuple[int, Target] | None = None
        self._checked_at = float("-inf")

    def target(self) -> Target | None:
        """The spec given, else the one recorded with the last successful apply (looked
        up at most once per cache period: every authenticated request asks)."""
        given = self.context.current_target()
        if given is not None:
            return given
        now = time.monotonic()
        if now - self._checked_at < max(self.context.cache_seconds, 0.1):
            return self._fallback[1] if self._fallback is not None else None
        self._checked_at = now
        applied = next((r for r in self.history.history(200) if r.status == "applied"), None)
        if applied is None:
            self._fallback = None
            return None
        if self._fallback is not None and self._fallback[0] == applied.id:
            return self._fallback[1]
        from pydantic import ValidationError

        from reconciler.operations import Target
        from reconciler.spec.device import DeviceSpec

        try:
            spec = DeviceSpec.model_validate(self.history.document_of(applied.id))
        except ValidationError:
            self._fallback = None
            return None
        target = Target(spec, f"{applied.source} (last applied, #{applied.id})")
        self._fallback = (applied.id, target)
        return target

    def plan(self) -> Plan:
        """A fresh plan against the device; nothing is applied or recorded."""
        from reconciler.operations import compute_plan

        target = self.target()
        if target is None:
            raise NoSpec("no spec to plan against: start with --file or --fleet/--device")
        with self.backend_lock:
            try:
                return compute_plan(
                    target,
                    self.context.backend,
                    self.history,  # type: ignore[arg-type]  # only .inventory() is used
                    self.context.secrets,
                    status_port=self.context.status_port,
                )
            except LookupError as exc:  # a secret that is not on this device
                raise OperationError(str(exc.args[0]) if exc.args else str(exc)) from None

    def status(self) -> dict[str, Any]:
        """The agent's status document, or one computed now in the same shape."""
        if self.context.mode == "agent" or self.context.current_target() is None:
            recorded = read_status(self.context.state_dir)
            if recorded is not None:
                return recorded
        return self.computed_status()

    def computed_status(self) -> dict[str, Any]:
        records = self.history.history(20)
        last = records[0] if records else None
        applied = next((r for r in records if r.status == "applied"), None)
        target = self.target()
        status = SyncStatus(
            sync_state="Synced",
            device=target.name if target is not None else (last.device if last else None),
            source=Source(url=target.source if target is not None else None),
            last_applied_at=applied.as_dict()["finishedAt"] if applied else None,
        )
        try:
            plan = self.plan()
        except (NoSpec, OperationError) as exc:
            state, reason, message = _failed(exc, target)
        else:
            status.drift = [Drift(path=c.dotted, op=c.op, risk=c.risk) for c in plan.changes]
            status.last_plan = LastPlan(summary=plan.summary, at=iso(), commit=None)
            state, reason, message = _judge(plan, last)
        status.condition("Synced", state == "Synced", reason, message)
        document = {**status.to_dict(), "syncState": state, "updatedAt": iso()}
        document["lastApply"] = last.as_dict() if last else None
        return document

    def history_records(self, limit: int) -> list[dict[str, Any]]:
        return [r.as_dict() for r in self.history.history(limit)]


def _failed(exc: Exception, target: Target | None) -> tuple[str, str, str]:
    if isinstance(exc, NoSpec) or target is None:
        return UNKNOWN, "NoSpec", str(exc)
    return "Failed", "PlanFailed", str(exc)


def _judge(plan: Plan, last: ApplyRecord | None) -> tuple[str, str, str]:
    """Sync state from a fresh plan and the latest history record."""
    if last is not None and last.status == "running":
        return "Progressing", "Applying", f"apply #{last.id} is running"
    if plan.refusals:
        return "Stalled", "Refused", "; ".join(plan.refusals)
    if not plan.changes:
        return "Synced", "Synced", "the device matches its spec"
    count = len(plan.changes)
    if last is not None and last.status == "failed":
        return "Failed", "ApplyFailed", f"apply #{last.id} failed: {last.error}"
    return "OutOfSync", "Drift", f"{count} change(s) to apply"
