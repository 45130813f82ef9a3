"""`reconcile rollback`: the desired state recorded with an earlier successful apply."""

from __future__ import annotations

from reconciler.engine.store import Store
from reconciler.operations import OperationError, Target


def rollback_target(store: Store, to: int | None) -> Target:
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
    return Target(spec, f"rollback of {record.source}#{record.id}")
