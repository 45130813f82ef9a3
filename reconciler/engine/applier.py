"""Run a plan through the backend's drivers in dependency order, verifying each area.

Areas run in the registry's order (reconciler.areas): identity and accounts first (so the
device is reachable by the right people before its network changes), then network and
firewall, then what runs on top of them (services, ports, I/O), then the services the agent
hosts (Modbus, cloud), and update policy last. After an area is applied it is observed
again: a change the device does not report afterwards failed, it did not succeed quietly.
The first failure stops the apply at that area boundary; everything is journaled before
and after, so the next run converges.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.areas import rank
from reconciler.engine.change import Change, Plan
from reconciler.engine.document import MISSING, get, managed_view
from reconciler.engine.planner import plan_changes
from reconciler.engine.ports import Backend, SecretLookup
from reconciler.engine.store import Store

FAILPOINT_ENV = "RECONCILER_FAILPOINT"
"""Test hook: `after-area:NAME` or `before-area:NAME` kills the process there (SIGKILL)."""


@dataclass(frozen=True)
class ApplyResult:
    apply_id: int
    status: str  # applied | failed | interrupted
    applied: int
    error: str | None
    observed_hash: str | None


def state_hash(desired: Mapping[str, Any], observed: Mapping[str, Any]) -> str:
    """Hash of the managed part of the observed state (telemetry excluded)."""
    view = managed_view(desired, observed)
    return hashlib.sha256(json.dumps(view, sort_keys=True, default=str).encode()).hexdigest()


def _failpoint(stage: str, area: str) -> None:
    if os.environ.get(FAILPOINT_ENV) == f"{stage}:{area}":
        os.kill(os.getpid(), signal.SIGKILL)


def _stuck(change: Change, remaining: Sequence[Change], observed_area: Mapping[str, Any]) -> bool:
    if change.op == "remove":
        return get({change.area: observed_area}, change.path) is not MISSING
    return any(
        r.path[: len(change.path)] == change.path or change.path[: len(r.path)] == r.path
        for r in remaining
    )


def apply_plan(
    plan: Plan,
    backend: Backend,
    store: Store,
    *,
    desired: Mapping[str, Any],
    source: str,
    secrets: SecretLookup,
    document: Mapping[str, Any] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> ApplyResult:
    """Apply `plan`; the caller holds the store's lock. `document` (the whole spec document,
    secret references only) is recorded so `rollback` can return to it. `should_stop` is
    asked at every area boundary (a safe point): SIGTERM never tears an area in half."""
    apply_id = store.begin(plan, source, dict(document if document is not None else desired))
    indexed = sorted(enumerate(plan.changes), key=lambda ic: (rank(ic[1].area), ic[0]))
    areas: dict[str, list[tuple[int, Change]]] = {}
    for seq, change in indexed:
        areas.setdefault(change.area, []).append((seq, change))
    inventory = store.inventory(plan.device)
    done = 0
    for area, items in areas.items():
        seqs = [s for s, _ in items]
        changes = [c for _, c in items]
        if should_stop():
            later = [s for a in list(areas)[list(areas).index(area) :] for s, _ in areas[a]]
            store.mark(apply_id, later, "skipped")
            error = f"stopped at a safe point before {area}; the next apply continues"
            store.finish(apply_id, "interrupted", None, error)
            return ApplyResult(apply_id, "interrupted", done, error, None)
        store.mark(apply_id, seqs, "applying")
        with store.transaction():  # before: a crash after the write must not lose ownership
            for change in changes:
                if change.op == "add":
                    store.record_inventory(plan.device, apply_id, change)
        _failpoint("before-area", area)
        driver = backend.driver(area)
        try:
            driver.apply(changes, secrets)
        except Exception as exc:  # the driver's message is the user's message
            return _fail(store, apply_id, areas, area, seqs, f"{area}: {exc}", done)
        _failpoint("after-area", area)
        observed_area = driver.observe()
        remaining = plan_changes(
            {area: desired[area]}, {area: observed_area}, secrets=secrets, inventory=inventory
        )
        stuck = [s for s, c in items if _stuck(c, remaining, observed_area)]
        if stuck:
            first = plan.changes[stuck[0]]
            error = f"{first.dotted}: the device does not report the change after applying it"
            store.mark(apply_id, [s for s in seqs if s not in stuck], "applied")
            return _fail(store, apply_id, areas, area, stuck, error, done)
        store.mark(apply_id, seqs, "applied")
        with store.transaction():
            for change in changes:
                if change.op == "remove":
                    store.record_inventory(plan.device, apply_id, change)
        done += len(changes)
    digest = state_hash(desired, backend.observe())
    store.finish(apply_id, "applied", digest)
    return ApplyResult(apply_id, "applied", done, None, digest)


def _fail(
    store: Store,
    apply_id: int,
    areas: Mapping[str, list[tuple[int, Change]]],
    failed_area: str,
    failed: list[int],
    error: str,
    done: int,
) -> ApplyResult:
    store.mark(apply_id, failed, "failed", error)
    later = list(areas)[list(areas).index(failed_area) + 1 :]
    store.mark(apply_id, [s for a in later for s, _ in areas[a]], "skipped")
    store.finish(apply_id, "failed", None, error)
    return ApplyResult(apply_id, "failed", done, error, None)
