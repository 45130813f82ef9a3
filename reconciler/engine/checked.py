"""Planning with the self-lockout checks inside: one call gives the plan and the rules it
breaks, so no caller can forget to ask (a plan is never shown or applied unchecked)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.engine.change import Change, Plan
from reconciler.engine.document import apply_changes
from reconciler.engine.lockout import lockout_refusals
from reconciler.engine.planner import make_plan
from reconciler.engine.ports import Inventory, SecretLookup
from reconciler.engine.verified import PasswordMemo


def refusals(
    observed: Mapping[str, Any], changes: Sequence[Change], *, status_port: int | None = None
) -> tuple[str, ...]:
    """Self-lockout refusals for applying `changes` to `observed` (a plan or a part of it)."""
    if not changes:
        return ()
    after = apply_changes(dict(observed), changes)
    areas = {c.area for c in changes}
    return tuple(lockout_refusals(observed, after, areas, status_port=status_port))


def checked_plan(
    device: str,
    backend: str,
    desired: Mapping[str, Any],
    observed: Mapping[str, Any],
    *,
    secrets: SecretLookup,
    inventory: Inventory = (),
    status_port: int | None = None,
    passwords: PasswordMemo | None = None,
) -> Plan:
    """Desired x observed -> the plan, with its lockout refusals filled in."""
    plan = make_plan(
        device,
        backend,
        desired,
        observed,
        secrets=secrets,
        inventory=inventory,
        passwords=passwords,
    )
    found = refusals(observed, plan.changes, status_port=status_port)
    return dataclasses.replace(plan, refusals=found)
