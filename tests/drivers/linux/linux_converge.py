"""Drive one area the way the engine does: plan against the observed area, apply through
the backend's driver (or through the engine's applier, for safe apply), observe again and
return what still differs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.drivers.linux.backend import LinuxBackend
from reconciler.engine.applier import ApplyResult, apply_plan
from reconciler.engine.change import Change, Plan
from reconciler.engine.planner import plan_changes
from reconciler.engine.store import Store

SECRETS = {"monitor-password": "Mon1tor-Secret-Value-77", "mqtt-password": "mqtt-Secret-99"}


def secrets(name: str) -> str:
    return SECRETS[name]


def plan(backend: LinuxBackend, area: str, desired: Any) -> list[Change]:
    observed = backend.driver(area).observe()
    return plan_changes({area: desired}, {area: observed}, secrets=secrets)


def converge(backend: LinuxBackend, area: str, desired: Any) -> list[Change]:
    """Apply `desired` to `area`; the changes still pending afterwards (expect [])."""
    changes = plan(backend, area, desired)
    assert changes, f"nothing to change in {area}: the test proves nothing"
    backend.driver(area).apply(changes, secrets)
    return plan(backend, area, desired)


def engine_apply(backend: LinuxBackend, area: str, desired: Any) -> tuple[ApplyResult, Store]:
    """Apply `desired` to `area` through the engine (journal, safe apply); the result and
    the history it was recorded in (the backend's state dir)."""
    changes = plan(backend, area, desired)
    assert changes, f"nothing to change in {area}: the test proves nothing"
    store = Store(Path(backend.ctx.state_dir))
    with store.lock():
        result = apply_plan(
            Plan("dev", backend.name, tuple(changes)),
            backend,
            store,
            desired={area: desired},
            source="test",
            secrets=secrets,
        )
    return result, store
