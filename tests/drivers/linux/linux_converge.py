"""Drive one area the way the engine does: plan against the observed area, apply through
the backend's driver, observe again and return what still differs."""

from __future__ import annotations

from typing import Any

from reconciler.drivers.linux.backend import LinuxBackend
from reconciler.engine.change import Change
from reconciler.engine.planner import plan_changes

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
