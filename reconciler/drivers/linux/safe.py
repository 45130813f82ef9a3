"""Safe apply for changes that can cut the device off (like `netplan try` and `commit
confirmed`): checkpoint, apply, then prove the must-reach targets still answer within the
confirm window; otherwise restore the checkpoint, record the revert and fail.

A detached guard process (guard.py) holds the same checkpoint and restores it at the end of
the window unless this process confirmed or reverted first, so a reconciler killed
mid-window (lost ssh session, OOM) still leaves the device reachable. Whoever renames the
pending file first owns the outcome.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.drivers.linux.context import Context
from reconciler.drivers.linux.runner import SubprocessRunner
from reconciler.engine.change import Change
from reconciler.engine.ports import Checkpointing, SecretLookup
from reconciler.errors import DeviceError

REVERTS = "linux/reverts.jsonl"
PENDING = "linux/pending"
CONFIRM_SHARE = 0.75
"""Share of the window spent waiting for reach; the rest is left for the revert."""


def record_revert(state_dir: Path, entry: dict[str, Any]) -> None:
    """Append one revert record (JSON line, fsynced): the status endpoint shows these."""
    path = state_dir / REVERTS
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"time": datetime.now(UTC).isoformat(timespec="seconds"), **entry})
    with open(path, "a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


def reverts(state_dir: Path) -> list[dict[str, Any]]:
    """Every recorded revert, oldest first."""
    try:
        text = (state_dir / REVERTS).read_text()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def claim(pending: Path) -> bool:
    """Take ownership of a pending checkpoint; False when the other party already did."""
    try:
        os.rename(pending, pending.with_suffix(".claimed"))
    except FileNotFoundError:
        return False
    return True


class SafeApply:
    """Wraps the driver of a risky area; plain pass-through when there is nothing to check
    against (no must-reach targets) or the changes are not risky."""

    def __init__(
        self,
        ctx: Context,
        area: str,
        driver: Checkpointing,
        risky: Callable[[Sequence[Change]], bool],
    ) -> None:
        self.ctx = ctx
        self.area = area
        self.driver = driver
        self.risky = risky

    def observe(self) -> Any:
        return self.driver.observe()

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        targets = list(self.ctx.options.must_reach)
        if not targets or not self.risky(changes):
            self.driver.apply(changes, secrets)
            return
        window = self.ctx.options.confirm_window
        start = time.monotonic()
        snap = self.driver.checkpoint(changes)
        pending = self.arm(snap, time.time() + window)
        try:
            self.driver.apply(changes, secrets)
        except Exception as exc:
            self.revert(pending, snap, f"the change failed: {exc}", [])
            raise DeviceError(
                f"{exc}; the previous {self.area} configuration was restored"
            ) from None
        lost = self.confirm(targets, start + window * CONFIRM_SHARE)
        if not lost:
            pending.unlink(missing_ok=True)
            return
        waited = time.monotonic() - start
        self.revert(pending, snap, "lost reach to must-reach targets", lost)
        raise DeviceError(
            f"after the change the device could not reach {', '.join(lost)} within "
            f"{waited:.0f} s, so the previous {self.area} configuration was reverted "
            f"automatically (recorded in {REVERTS} of the state dir)"
        )

    def arm(self, snap: dict[str, Any], deadline: float) -> Path:
        """Write the pending checkpoint and start the guard that reverts at `deadline`."""
        directory = self.ctx.state_dir / PENDING
        directory.mkdir(parents=True, exist_ok=True)
        runner = self.ctx.host.runner
        prefix = list(runner.prefix) if isinstance(runner, SubprocessRunner) else None
        pending = directory / f"{self.area}-{os.getpid()}-{time.time_ns()}.json"
        data = {
            "area": self.area,
            "deadline": deadline,
            "root": str(self.ctx.host.root),
            "prefix": prefix,
            "stateDir": str(self.ctx.state_dir),
            "options": dataclasses.asdict(self.ctx.options),
            "snapshot": snap,
        }
        pending.write_text(json.dumps(data))
        pending.chmod(0o600)
        if self.ctx.options.guard and prefix is not None:
            subprocess.Popen(
                [sys.executable, "-m", "reconciler.drivers.linux.guard", str(pending)],
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        return pending

    def confirm(self, targets: list[str], until: float) -> list[str]:
        """Probe until every target answers or time is up; the targets still lost."""
        interval = self.ctx.options.probe_interval
        while True:
            lost = self.probe(targets, min(interval, 2.0))
            remaining = until - time.monotonic()
            if not lost or remaining <= 0:
                return lost
            time.sleep(min(interval, remaining))

    def probe(self, targets: list[str], timeout: float) -> list[str]:
        argv = [sys.executable, "-m", "reconciler.drivers.linux.reach", "--timeout", str(timeout)]
        result = self.ctx.host.run([*argv, *targets], check=False)
        if result.returncode == 0:
            return []
        return result.stdout.split() or list(targets)

    def revert(self, pending: Path, snap: dict[str, Any], reason: str, lost: list[str]) -> None:
        if not claim(pending):
            return  # the guard got there first and restored it
        try:
            self.driver.restore(snap)
        finally:
            record_revert(
                self.ctx.state_dir,
                {"area": self.area, "by": "apply", "reason": reason, "unreachable": lost},
            )
            pending.with_suffix(".claimed").unlink(missing_ok=True)
