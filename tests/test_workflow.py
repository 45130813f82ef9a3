"""The apply workflow as a library call: what comes back for each way an apply can go."""

from __future__ import annotations

from pathlib import Path

from testkit import REPO

from reconciler import operations as ops
from reconciler.engine.ports import DeviceBackend
from reconciler.engine.store import Store
from reconciler.secrets import SecretResolver
from reconciler.workflow import apply_target

MINIMAL = REPO / "examples" / "minimal.yaml"


def _open(state: Path) -> tuple[ops.Target, DeviceBackend, Store]:
    target = ops.load_target(str(MINIMAL), None, None)
    return target, ops.target_backend("sim", state, target), ops.open_store(state)


def test_declined_then_applied_then_unchanged(tmp_path: Path) -> None:
    target, backend, store = _open(tmp_path)
    secrets = SecretResolver(None)
    seen = []
    declined = apply_target(
        target, backend, store, secrets, confirm=lambda plan: False, on_plan=seen.append
    )
    assert declined.status == "cancelled" and declined.apply_id is None
    assert len(seen) == 1 and seen[0].changes
    assert store.history(10) == []

    applied = apply_target(target, backend, store, secrets, confirm=lambda plan: True)
    assert applied.status == "applied" and applied.ok
    assert applied.apply_id == store.history(1)[0].id

    again = apply_target(target, backend, store, secrets)
    assert again.status == "unchanged" and again.ok and again.apply_id is None


def test_a_failed_apply_comes_back_failed_with_its_id(tmp_path: Path) -> None:
    from reconciler.drivers.sim.backend import SimBackend

    target, backend, store = _open(tmp_path)
    SimBackend.open(tmp_path, None).inject_fault("system", "always")
    failed = apply_target(target, backend, store, SecretResolver(None))
    assert failed.status == "failed" and not failed.ok
    assert failed.result is not None and "injected fault" in str(failed.result.error)
    assert failed.apply_id == store.history(1)[0].id
