"""Run a plan through the backend's drivers in dependency order, verifying each area.

Areas run in the registry's order (reconciler.areas): identity and accounts first (so the
device is reachable by the right people before its network changes), then network and
firewall, then what runs on top of them (services, ports, I/O), then the services the agent
hosts (Modbus, cloud), and update policy last. After an area is applied it is observed
again and each change is looked up at its own path (O(changes), not a re-plan of the area):
a change the device does not report afterwards failed, it did not succeed quietly.
Changes that can cut connectivity go through safe apply (engine.safe). The first failure
stops the apply at that area boundary; the whole plan is journaled before the first change
and each area's result when it finishes, so the next run converges.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.areas import rank
from reconciler.engine.change import Change, Plan
from reconciler.engine.document import managed_view
from reconciler.engine.failpoint import FAILPOINT_ENV, failpoint
from reconciler.engine.planner import unreported
from reconciler.engine.ports import Backend, SecretLookup
from reconciler.engine.safe import Reverted, SafeApply, guarded
from reconciler.engine.store import LazyInventory, Store
from reconciler.engine.verified import VerifiedPasswords
from reconciler.errors import DeviceDeferred, DeviceRefused, DeviceUnavailable

__all__ = ["FAILPOINT_ENV", "ApplyResult", "apply_plan", "failure_kind", "state_hash"]


@dataclass(frozen=True)
class ApplyResult:
    apply_id: int
    status: str  # applied | failed | reverted | interrupted | deferred
    applied: int
    error: str | None
    observed_hash: str | None
    failure: str | None = None
    """What stopped it, from the error's type: refused | failed | unavailable | reverted |
    deferred (the device takes it later: an update lock is held) | not-reported (the
    device does not show the change); None when nothing failed."""


def state_hash(desired: Mapping[str, Any], observed: Mapping[str, Any]) -> str:
    """Hash of the managed part of the observed state (telemetry excluded)."""
    view = managed_view(desired, observed)
    return hashlib.sha256(json.dumps(view, sort_keys=True, default=str).encode()).hexdigest()


def failure_kind(exc: BaseException) -> str:
    """The outcome a driver's typed error stands for (callers map it, never the text)."""
    if isinstance(exc, Reverted):
        return "reverted"
    if isinstance(exc, DeviceRefused):
        return "refused"
    if isinstance(exc, DeviceUnavailable):
        return "unavailable"
    if isinstance(exc, DeviceDeferred):
        return "deferred"
    return "failed"


class _Failure(Exception):
    def __init__(self, seqs: list[int], error: str, kind: str) -> None:
        super().__init__(error)
        self.seqs, self.error, self.kind = seqs, error, kind


@dataclass
class _Apply:
    plan: Plan
    backend: Backend
    store: Store
    apply_id: int
    desired: Mapping[str, Any]
    secrets: SecretLookup
    hand_confirm: float | None = None
    final: dict[str, Any] | None = None
    """The whole device observed after the last area: it verifies that area and gives the
    state hash, so the device is read once, not twice, at the end."""

    def area(self, area: str, items: list[tuple[int, Change]], last: bool = False) -> None:
        """Apply one area and verify it by observing; raises _Failure."""
        seqs, changes = [s for s, _ in items], [c for _, c in items]
        device = self.plan.device
        with self.store.transaction():
            self.store.mark(self.apply_id, seqs, "applying")
            # before: a crash after the write must not lose ownership
            added = [change for change in changes if change.op == "add"]
            self.store.record_inventory(device, self.apply_id, added)
        failpoint("before-area", area)
        driver = self.backend.driver(area)
        try:
            safely = guarded(self.backend, driver, changes, self.hand_confirm)
            if safely is not None:
                probing, checkpointing, options = safely
                by_hand = self.hand_confirm is not None
                safe = SafeApply(probing, self.store, self.apply_id, options, by_hand)
                safe.run(area, checkpointing, changes, self.secrets)
            else:
                driver.apply(changes, self.secrets)
        except Exception as exc:  # the driver's message is the user's message
            raise _Failure(seqs, f"{area}: {exc}", failure_kind(exc)) from None
        failpoint("after-area", area)
        if last:
            self.final = self.backend.observe()
        seen = self.final.get(area) if self.final is not None else driver.observe()
        passwords = VerifiedPasswords(self.store.state_dir)
        missed = unreported(
            changes,
            {area: seen},
            desired=self.desired,
            secrets=self.secrets,
            inventory=LazyInventory(lambda: self.store.inventory(device)),
            passwords=passwords,
        )
        passwords.save()
        stuck = [s for s, miss in zip(seqs, missed, strict=True) if miss]
        reported = [s for s, miss in zip(seqs, missed, strict=True) if not miss]
        with self.store.transaction():
            self.store.mark(self.apply_id, reported, "applied")
            if not stuck:
                removed = [change for change in changes if change.op == "remove"]
                self.store.record_inventory(device, self.apply_id, removed)
        failpoint("after-verify", area)
        if stuck:
            first = self.plan.changes[stuck[0]]
            error = f"{first.dotted}: the device does not report the change after applying it"
            raise _Failure(stuck, error, "not-reported")


def _by_area(plan: Plan) -> dict[str, list[tuple[int, Change]]]:
    indexed = sorted(enumerate(plan.changes), key=lambda ic: (rank(ic[1].area), ic[0]))
    areas: dict[str, list[tuple[int, Change]]] = {}
    for seq, change in indexed:
        areas.setdefault(change.area, []).append((seq, change))
    return areas


def apply_plan(
    plan: Plan,
    backend: Backend,
    store: Store,
    *,
    desired: Mapping[str, Any],
    source: str,
    secrets: SecretLookup,
    document: Mapping[str, Any] | str | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    applied_status: str = "applied",
    hand_confirm: float | None = None,
) -> ApplyResult:
    """Apply `plan`; the caller holds the store's lock. `document` (the whole spec document,
    secret references only; a mapping or its JSON text) is recorded so `rollback` can
    return to it. `should_stop` is asked at every area boundary (a safe point): SIGTERM
    never tears an area in half.
    `applied_status` is the history status of a success (writes outside a spec differ).
    `hand_confirm`: seconds within which `reconcile confirm` must keep connectivity changes."""
    apply_id = store.begin(plan, source, document if document is not None else dict(desired))
    failpoint("after-begin")
    run = _Apply(plan, backend, store, apply_id, desired, secrets, hand_confirm)
    areas = _by_area(plan)
    names = list(areas)
    done = 0
    for i, (area, items) in enumerate(areas.items()):
        later = [s for a in names[i + 1 :] for s, _ in areas[a]]
        if should_stop():
            store.mark(apply_id, [s for s, _ in items] + later, "skipped")
            error = f"stopped at a safe point before {area}; the next apply continues"
            store.finish(apply_id, "interrupted", None, error)
            return ApplyResult(apply_id, "interrupted", done, error, None)
        try:
            run.area(area, items, last=i == len(names) - 1)
        except _Failure as failure:
            return _fail(store, apply_id, failure, later, done)
        done += len(items)
    digest = state_hash(desired, run.final if run.final is not None else backend.observe())
    store.finish(apply_id, applied_status, digest)
    return ApplyResult(apply_id, applied_status, done, None, digest)


def _fail(
    store: Store, apply_id: int, failure: _Failure, later: list[int], done: int
) -> ApplyResult:
    status = failure.kind if failure.kind in ("reverted", "deferred") else "failed"
    with store.transaction():
        if status != "reverted":  # a revert already marked its area's changes
            store.mark(apply_id, failure.seqs, status, failure.error)
        store.mark(apply_id, later, "skipped")
        store.finish(apply_id, status, None, failure.error)
    return ApplyResult(apply_id, status, done, failure.error, None, failure.kind)
