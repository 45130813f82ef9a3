"""`reconcile fleet plan`: every selected device's plan computed against the observed state
it last reported (the retained `<base>/state` messages), not against the previous commit.

Pure apart from rendering the repo: the messages go in, one DevicePlan per device comes
out; the CLI prints them as text, JSON or Markdown for a pull request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconciler.engine.change import Plan
from reconciler.fleet.render import RenderedDevice

STATE_LEAF = "state"


@dataclass
class StateReports:
    """The last observed state each device reported, by `seq`."""

    last: dict[str, dict[str, Any]] = field(default_factory=dict)

    def record(self, device: str, payload: bytes) -> None:
        try:
            message = json.loads(payload) if payload else None
        except (ValueError, UnicodeDecodeError):
            return
        if not isinstance(message, dict) or message.get("type") != STATE_LEAF:
            return
        old = self.last.get(device)
        if old is not None and int(message.get("seq") or 0) < int(old.get("seq") or 0):
            return
        self.last[device] = message


@dataclass(frozen=True)
class DevicePlan:
    name: str
    online: bool | None
    drifted: bool
    state_time: str | None
    state_age_s: float | None
    plan: Plan | None
    problem: str | None
    """Why there is no plan: no reported state, an invalid spec, a secret not on this host."""

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "online": self.online,
            "drifted": self.drifted,
            "stateTime": self.state_time,
            "stateAgeSeconds": None if self.state_age_s is None else round(self.state_age_s),
            "plan": self.plan.as_dict() if self.plan is not None else None,
            "problem": self.problem,
        }


def _age(stamp: str | None, now: datetime) -> float | None:
    if not stamp:
        return None
    try:
        return (now - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds()
    except ValueError:
        return None


def plan_device(
    rendered: RenderedDevice,
    state: dict[str, Any] | None,
    status: dict[str, Any] | None,
    secrets: Callable[[str], str],
    now: datetime,
) -> DevicePlan:
    """The device's plan against its reported state, flagged drifted/offline."""
    from reconciler.engine.document import apply_changes
    from reconciler.engine.lockout import lockout_refusals
    from reconciler.engine.planner import make_plan
    from reconciler.operations import desired_state

    name = rendered.name or rendered.rel
    online = None if status is None else status.get("online") is True
    drifted = bool(status and status.get("online") and status.get("drift"))
    stamp = state.get("time") if state else None
    base = DevicePlan(name, online, drifted, stamp, _age(stamp, now), None, None)
    if rendered.spec is None:
        first = rendered.problems[0] if rendered.problems else "invalid"
        return _with(base, problem=f"invalid spec: {first}")
    observed = state.get("state") if state else None
    if not isinstance(observed, dict):
        return _with(base, problem="no observed state reported (cloud.mqtt.retain: true?)")
    try:
        plan = make_plan(name, "reported", desired_state(rendered.spec), observed, secrets=secrets)
    except LookupError as exc:
        return _with(base, problem=f"cannot compare secrets: {exc.args[0]}")
    after = apply_changes(observed, plan.changes)
    refusals = lockout_refusals(observed, after, {c.area for c in plan.changes})
    return _with(
        base, plan=Plan(plan.device, plan.backend, plan.changes, plan.patch, tuple(refusals))
    )


def _with(base: DevicePlan, **changes: Any) -> DevicePlan:
    import dataclasses

    return dataclasses.replace(base, **changes)


def summary(plans: list[DevicePlan]) -> dict[str, int]:
    return {
        "devices": len(plans),
        "withChanges": sum(1 for p in plans if p.plan is not None and p.plan.changes),
        "refused": sum(1 for p in plans if p.plan is not None and p.plan.refusals),
        "withoutPlan": sum(1 for p in plans if p.plan is None),
        "drifted": sum(1 for p in plans if p.drifted),
        "offline": sum(1 for p in plans if p.online is False),
    }
