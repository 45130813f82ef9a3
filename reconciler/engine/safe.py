"""Safe apply for connectivity changes (like `netplan try` and `commit confirmed`):
checkpoint the area, apply, then prove the must-reach targets still answer within the
confirm window; otherwise restore the checkpoint, record the revert in the apply's history
and fail.

It runs for changes whose risk is "connectivity" when the area's driver can checkpoint
(ports.Checkpointing) and the backend can probe (ports.Probing). A detached guard process
(engine/guard.py) holds the same checkpoint and restores it at the end of the window unless
this process confirmed or reverted first, so a reconciler killed mid-window (lost ssh
session, OOM) still leaves the device reachable. Whoever renames the pending file first
owns the outcome.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from reconciler.engine.change import Change
from reconciler.engine.failpoint import failpoint
from reconciler.engine.ports import (
    AreaDriver,
    Checkpointing,
    Probing,
    SafeApplyOptions,
    SecretLookup,
)
from reconciler.engine.store import Store
from reconciler.errors import DeviceError

PENDING = "pending"
"""Directory of the state dir holding armed checkpoints (one JSON file each)."""
CONFIRM_SHARE = 0.75
"""Share of the window spent waiting for reach; the rest is left for the revert."""


class Reverted(DeviceError):
    """The change was undone by safe apply; the store already holds the revert record."""


def claim(pending: Path) -> bool:
    """Take ownership of a pending checkpoint; False when the other party already did."""
    try:
        os.rename(pending, pending.with_suffix(".claimed"))
    except FileNotFoundError:
        return False
    return True


def guarded(
    backend: object,
    driver: AreaDriver,
    changes: Sequence[Change],
    hand_confirm: float | None = None,
) -> tuple[Probing, Checkpointing, SafeApplyOptions] | None:
    """What to apply `changes` safely with, or None when they go straight through (nothing
    can cut connectivity, nothing to check against, or no way to put it back).

    `hand_confirm` (seconds, `apply --confirm`) asks for commit-confirmed: the change stays
    only if `reconcile confirm` runs within that time, whatever the probes say."""
    if not any(c.risk == "connectivity" for c in changes):
        return None
    if not isinstance(driver, Checkpointing) or not isinstance(backend, Probing):
        if hand_confirm is not None:
            raise DeviceError("this backend cannot restore the area, so --confirm cannot guard it")
        return None
    options = backend.safe_apply_options()
    if hand_confirm is not None:
        if backend.reopen() is None:
            raise DeviceError("this backend has no revert guard, so --confirm cannot guard it")
        return backend, driver, replace(options, confirm_window=hand_confirm, guard=True)
    return (backend, driver, options) if options.must_reach else None


@dataclass
class SafeApply:
    """One area's changes through the confirm window, journaled in apply `apply_id`."""

    backend: Probing
    store: Store
    apply_id: int
    options: SafeApplyOptions
    by_hand: bool = False
    """Commit-confirmed: leave the guard armed; `reconcile confirm` keeps the change."""

    def run(
        self, area: str, driver: Checkpointing, changes: Sequence[Change], secrets: SecretLookup
    ) -> None:
        window = self.options.confirm_window
        start = time.monotonic()
        snap = driver.checkpoint(changes)
        pending = self.arm(area, snap, time.time() + window)
        try:
            driver.apply(changes, secrets)
        except Exception as exc:
            self.revert(pending, driver, snap, area, f"the change failed: {exc}", [])
            raise Reverted(f"{exc}; the previous {area} configuration was restored") from None
        failpoint("in-window", area)
        lost = self.confirm(start + window * CONFIRM_SHARE) if self.options.must_reach else []
        if not lost and self.by_hand:
            return  # the guard reverts at the deadline unless `reconcile confirm` claims it
        if not lost:
            if not claim(pending):
                raise Reverted(f"the guard reverted {area} before reach was confirmed")
            pending.with_suffix(".claimed").unlink(missing_ok=True)
            return
        waited = time.monotonic() - start
        self.revert(pending, driver, snap, area, "lost reach to must-reach targets", lost)
        raise Reverted(
            f"after the change the device could not reach {', '.join(lost)} within "
            f"{waited:.0f} s, so the previous {area} configuration was reverted "
            f"automatically (recorded in history #{self.apply_id})"
        )

    def arm(self, area: str, snap: dict[str, Any], deadline: float) -> Path:
        """Write the pending checkpoint and start the guard that reverts at `deadline`."""
        directory = self.store.state_dir / PENDING
        directory.mkdir(parents=True, exist_ok=True)
        reopen = self.backend.reopen()
        pending = directory / f"{area}-{os.getpid()}-{time.time_ns()}.json"
        data = {
            "area": area,
            "deadline": deadline,
            "applyId": self.apply_id,
            "stateDir": str(self.store.state_dir),
            "factory": reopen[0] if reopen else None,
            "arguments": reopen[1] if reopen else {},
            "snapshot": snap,
        }
        if self.by_hand:
            data["byHand"] = True
            data["reason"] = (
                f"not confirmed with `reconcile confirm` within {self.options.confirm_window:.0f} s"
            )
        fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(data))
            f.flush()
            os.fsync(f.fileno())
        if self.options.guard and reopen is not None:
            subprocess.Popen(
                [sys.executable, "-m", "reconciler.engine.guard", str(pending)],
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        return pending

    def confirm(self, until: float) -> list[str]:
        """Probe until every target answers or time is up; the targets still lost."""
        interval = self.options.probe_interval
        targets = list(self.options.must_reach)
        while True:
            lost = self.backend.unreachable(targets, min(interval, 2.0))
            remaining = until - time.monotonic()
            if not lost or remaining <= 0:
                return lost
            time.sleep(min(interval, remaining))

    def revert(
        self,
        pending: Path,
        driver: Checkpointing,
        snap: dict[str, Any],
        area: str,
        reason: str,
        lost: list[str],
    ) -> None:
        if not claim(pending):
            return  # the guard got there first and restored it
        try:
            driver.restore(snap)
        finally:
            self.store.record_revert(self.apply_id, area, "apply", reason, lost)
            pending.with_suffix(".claimed").unlink(missing_ok=True)


def awaiting(state_dir: Path) -> list[dict[str, Any]]:
    """Changes applied with `--confirm` whose guard is still armed: area, applyId, deadline."""
    found = []
    for pending in sorted((state_dir / PENDING).glob("*.json")):
        try:
            data = json.loads(pending.read_text())
        except (OSError, ValueError):
            continue  # claimed or half-written by now
        if data.get("byHand"):
            found.append(
                {
                    "area": data["area"],
                    "applyId": data["applyId"],
                    "deadline": data["deadline"],
                    "file": pending,
                }
            )
    return found


def confirm_by_hand(state_dir: Path) -> list[dict[str, Any]]:
    """`reconcile confirm`: keep every change still waiting for it (claimed from its guard,
    atomically); what was kept. A guard that got there first has reverted its change."""
    kept = []
    for entry in awaiting(state_dir):
        pending: Path = entry.pop("file")
        if claim(pending):
            pending.with_suffix(".claimed").unlink(missing_ok=True)
            kept.append(entry)
    return kept
