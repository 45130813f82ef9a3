"""operations area: one-shot actions, recorded in <state-dir>/linux/operations.json
(written atomically before and after each action: at most once per name). reboot and
shutdown go through `systemctl reboot|poweroff`, restartService through `systemctl
restart UNIT`, blink through the LED driver, command through the runner: an argv without a
shell, with a timeout, its exit code recorded. The update lock is /run/reconciler/update.lock
(under the root)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from reconciler.drivers.linux.context import Context
from reconciler.drivers.linux.leds import LedsDriver
from reconciler.drivers.oneshot import Record, run_operations
from reconciler.engine.change import Change
from reconciler.engine.ports import SecretLookup
from reconciler.errors import DeviceError, DeviceFailed
from reconciler.fsutil import atomic_write

RECORD = "linux/operations.json"
LOCK_FILE = "/run/reconciler/update.lock"
"""An application holds it (flock) while a reboot, shutdown or service restart must wait."""
POWER = {"reboot": "reboot", "shutdown": "poweroff"}


class OperationsDriver:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.host = ctx.host

    def observe(self) -> list[dict[str, Any]]:
        try:
            data = json.loads((self.ctx.state_dir / RECORD).read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise DeviceError(f"cannot read {self.ctx.state_dir / RECORD}: {exc}") from None
        return [dict(i) for i in data if isinstance(i, dict)] if isinstance(data, list) else []

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        lock = self.host.path(LOCK_FILE)
        run_operations(changes, self.observe(), self._save, self.perform, lock)

    def _save(self, record: Record) -> None:
        atomic_write(self.ctx.state_dir / RECORD, json.dumps(record, indent=1).encode())

    def perform(self, op: dict[str, Any]) -> str:
        """Run one operation; the detail to record, or DeviceError."""
        action = op["action"]
        if action in POWER:
            self.host.run(["systemctl", POWER[action]])
        elif action == "restartService":
            self.host.run(["systemctl", "restart", f"{op['service']}.service"])
        elif action == "blink":
            LedsDriver(self.ctx).blink()
        elif action == "command":
            return self._command([str(a) for a in op["command"]], float(op["timeoutSeconds"]))
        else:
            raise DeviceError(f"unknown action {action!r}")
        return ""

    def _command(self, argv: list[str], timeout: float) -> str:
        result = self.host.run(argv, check=False, timeout=timeout)
        if result.returncode != 0:
            tail = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:]
            raise DeviceFailed(f"exit code {result.returncode}" + (f": {tail[0]}" if tail else ""))
        return "exit code 0"
