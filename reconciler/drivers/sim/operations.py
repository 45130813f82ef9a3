"""operations area of the simulated device: each action is only recorded (in the device
document's `operations` list); the update lock is <state-dir>/sim/update.lock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from reconciler.drivers.oneshot import Record, run_operations
from reconciler.engine.change import Change
from reconciler.engine.ports import SecretLookup
from reconciler.errors import DeviceFailed

if TYPE_CHECKING:
    from reconciler.drivers.sim.backend import SimBackend

LOCK_FILE = "update.lock"


class SimOperationsDriver:
    def __init__(self, backend: SimBackend) -> None:
        self.backend = backend

    def observe(self) -> list[dict[str, Any]]:
        return list(self.backend.observe().get("operations") or [])

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        if self.backend.take_fault("operations") in ("once", "always"):
            raise DeviceFailed("injected fault: the simulated device failed to apply operations")
        lock = self.backend.root / LOCK_FILE
        run_operations(changes, self.observe(), self._save, self._perform, lock)

    def _save(self, record: Record) -> None:
        with self.backend.exclusive():
            self.backend.current()["operations"] = record
            self.backend.save()

    def _perform(self, op: dict[str, Any]) -> str:
        if op["action"] == "command":
            return "simulated: not run"
        return ""
