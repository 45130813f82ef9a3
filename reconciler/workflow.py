"""The apply workflow as one call: plan, refuse, confirm, apply.

`reconcile apply`, `reconcile rollback` (and any caller that applies a whole spec) go
through `apply_target`, so they agree on when a plan is refused, when nobody is asked,
and what comes back: the plan, what became of it, and the apply's history id as data.
The caller decides what to show and how to ask (the CLI prints and prompts; an
unattended caller passes `confirm=None`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from reconciler import operations as ops

if TYPE_CHECKING:
    from reconciler.engine.applier import ApplyResult
    from reconciler.engine.change import Plan
    from reconciler.engine.ports import DeviceBackend as Backend
    from reconciler.engine.store import Store
    from reconciler.operations import Target

Status = Literal["refused", "unchanged", "cancelled", "applied", "failed", "interrupted"]


@dataclass(frozen=True)
class Outcome:
    """What became of one apply: `status` says how far it went; `result` is set once the
    plan was applied (applied, failed or interrupted)."""

    plan: Plan
    status: Status
    result: ApplyResult | None = None

    @property
    def apply_id(self) -> int | None:
        """The apply's id in `reconcile history` (None when nothing was applied)."""
        return self.result.apply_id if self.result is not None else None

    @property
    def ok(self) -> bool:
        return self.status in ("applied", "unchanged")


def apply_target(
    target: Target,
    backend: Backend,
    store: Store,
    secrets: Callable[[str], str],
    *,
    force: bool = False,
    confirm: Callable[[Plan], bool] | None = None,
    on_plan: Callable[[Plan], None] = lambda plan: None,
    should_stop: Callable[[], bool] = lambda: False,
    hand_confirm: float | None = None,
) -> Outcome:
    """Plan `target` under the state-dir lock, then apply it unless refused or declined.

    `on_plan` sees the plan (with its refusals) before anything is decided; `confirm`
    (None: do not ask) is asked only when there is something to apply; `force` goes ahead
    despite self-lockout refusals; `hand_confirm` (seconds) keeps connectivity changes only
    if `reconcile confirm` runs within that time (commit-confirmed)."""
    with ops.locked(store):
        plan = ops.compute_plan(target, backend, store, secrets)
        on_plan(plan)
        if plan.refusals and not force:
            return Outcome(plan, "refused")
        if not plan.changes:
            return Outcome(plan, "unchanged")
        if confirm is not None and not confirm(plan):
            return Outcome(plan, "cancelled")
        result = ops.run_apply(target, plan, backend, store, secrets, should_stop, hand_confirm)
    status: Status = "failed"
    if result.status in ("applied", "interrupted"):
        status = "applied" if result.status == "applied" else "interrupted"
    return Outcome(plan, status, result)
