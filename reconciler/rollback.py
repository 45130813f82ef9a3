"""`reconcile rollback`: the desired state recorded with an earlier successful apply."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.engine.store import Store
from reconciler.operations import OperationError, Target


@dataclass(frozen=True)
class RollbackPoint:
    """The spec to return to and the id of the apply that recorded it."""

    target: Target
    apply_id: int


def rollback_target(store: Store, to: int | None) -> RollbackPoint:
    """The spec of apply `to`, or of the successful apply before the latest one."""
    from reconciler.spec.device import DeviceSpec

    applied = [r for r in store.history(1000) if r.status == "applied"]
    if to is None:
        if len(applied) < 2:
            raise OperationError("nothing to roll back to: fewer than two successful applies")
        record = applied[1]
    else:
        matches = [r for r in applied if r.id == to]
        if not matches:
            raise OperationError(f"apply #{to} is not a successful apply in history")
        record = matches[0]
    spec = DeviceSpec.model_validate(store.document_of(record.id))
    return RollbackPoint(Target(spec, f"rollback of {record.source}#{record.id}"), record.id)
