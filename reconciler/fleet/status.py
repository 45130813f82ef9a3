"""The fleet at a glance: the agents' retained status messages joined with the repo.

Pure: the reports go in as parsed messages, the rows, the summary and the verdict come out,
so the same join serves one collection, a live `--watch` and the benchmark.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from reconciler.fleet.roster import Roster

SYNC_STATES = ("Synced", "OutOfSync", "Progressing", "Failed", "Stalled", "Suspended")
SUMMARY_KEYS = (*SYNC_STATES, "Offline", "Unknown")
STATUS_LEAF = "status"


def status_topic(prefix: str, leaf: str = STATUS_LEAF) -> str:
    """`<prefix>/+/status` (or another leaf): every device's retained message of that kind."""
    return "/".join(p for p in (prefix, "+", leaf) if p)


def device_of(topic: str, prefix: str, leaf: str = STATUS_LEAF) -> str | None:
    """The device a `<prefix>/<device>/<leaf>` topic belongs to (None for other topics)."""
    head = f"{prefix}/" if prefix else ""
    if not topic.startswith(head) or not topic.endswith(f"/{leaf}"):
        return None
    name = topic[len(head) : -len(leaf) - 1]
    return name if name and "/" not in name and name != "fleet" else None


def same_commit(a: str | None, b: str | None) -> bool:
    """Full and abbreviated hashes of one commit match (`--commit 9f2c` is 9f2c...)."""
    if not a or not b:
        return False
    return a.startswith(b) or b.startswith(a)


@dataclass
class Reports:
    """The last status each device reported, de-duplicated by `seq` (delivery is at least
    once, so an older status may arrive again after a newer one)."""

    last: dict[str, dict[str, Any]] = field(default_factory=dict)

    def record(self, device: str, payload: bytes) -> bool:
        """Take one message; True when the device's shown status changed."""
        if not payload:  # a cleared retained message: the device is gone from the broker
            return self.last.pop(device, None) is not None
        try:
            message = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            return False
        if not isinstance(message, dict) or message.get("type") != "status":
            return False
        before = self.last.get(device)
        seq, old_seq = message.get("seq"), (before or {}).get("seq")
        if isinstance(seq, int) and isinstance(old_seq, int) and seq < old_seq:
            return False
        self.last[device] = message
        return before != message


@dataclass(frozen=True)
class Row:
    name: str
    online: bool | None
    sync_state: str | None
    last_applied_commit: str | None
    last_applied_at: str | None
    drift: int
    waiting: int
    groups: list[str]
    held: str | None = None
    """Why the rollout waves hold the newest commit from this device (None: they do not)."""
    operations: tuple[dict[str, Any], ...] = ()
    """The one-shot operations the device reported it ran (its status's `operations`)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "online": self.online,
            "syncState": self.sync_state,
            "lastAppliedCommit": self.last_applied_commit,
            "lastAppliedAt": self.last_applied_at,
            "drift": self.drift,
            "waiting": self.waiting,
            "groups": self.groups,
        }

    @property
    def bucket(self) -> str:
        """Where the summary counts it: its sync state, Offline or Unknown."""
        if self.online is None:
            return "Unknown"
        if not self.online:
            return "Offline"
        return self.sync_state or "Unknown"


def row_of(name: str, message: dict[str, Any] | None, groups: list[str]) -> Row:
    if message is None:
        return Row(name, None, None, None, None, 0, 0, groups)
    online = message.get("online") is True
    drift, waiting = message.get("drift"), message.get("waiting")
    return Row(
        name=name,
        online=online,
        sync_state=message.get("syncState") if online else None,
        last_applied_commit=message.get("lastAppliedCommit"),
        last_applied_at=message.get("lastAppliedAt"),
        drift=len(drift) if online and isinstance(drift, list) else 0,
        waiting=len(waiting) if online and isinstance(waiting, list) else 0,
        groups=groups,
        held=_held(waiting) if online else None,
        operations=_operations(message.get("operations")),
    )


OPERATION_KEYS = ("name", "action", "result", "at", "detail")


def _operations(reported: Any) -> tuple[dict[str, Any], ...]:
    """The well-formed entries of a status's `operations` list, with the documented keys."""
    runs = reported if isinstance(reported, list) else []
    return tuple(
        {key: run.get(key) for key in OPERATION_KEYS}
        for run in runs
        if isinstance(run, dict) and isinstance(run.get("name"), str)
    )


def _held(waiting: Any) -> str | None:
    """The reason of the `rollout` entry of a status's waiting list, if there is one."""
    for entry in waiting if isinstance(waiting, list) else []:
        if isinstance(entry, dict) and entry.get("path") == "rollout":
            return str(entry.get("reason") or "held by the rollout waves")
    return None


@dataclass(frozen=True)
class FleetStatus:
    devices: list[Row]
    not_in_repo: list[Row]
    summary: dict[str, int]
    target: str | None
    """The commit every device should run (the repo's newest, or --commit)."""
    on_target: int

    @property
    def converged(self) -> bool:
        """Every selected device online, Synced, and on the target commit (if known)."""
        return bool(self.devices) and all(
            row.online
            and row.sync_state == "Synced"
            and (self.target is None or same_commit(row.last_applied_commit, self.target))
            for row in self.devices
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "devices": [row.as_json() for row in self.devices],
            "summary": self.summary,
            "notInRepo": [row.as_json() for row in self.not_in_repo],
            "commit": {"commit": self.target, "devices": self.on_target},
            "held": [{"name": r.name, "reason": r.held} for r in self.devices if r.held],
            "operations": [{"device": r.name, **run} for r in self.devices for run in r.operations],
        }

    def operation_tally(self) -> dict[tuple[str, str], dict[str, list[str]]]:
        """(operation name, action) -> result -> the devices that reported it: a rollout of
        one operation across the fleet at a glance."""
        tally: dict[tuple[str, str], dict[str, list[str]]] = {}
        for row in self.devices:
            for run in row.operations:
                key = (str(run["name"]), str(run.get("action") or "-"))
                tally.setdefault(key, {}).setdefault(str(run.get("result")), []).append(row.name)
        return tally


def fleet_status(
    roster: Roster, selector: dict[str, str], reports: Reports, target: str | None
) -> FleetStatus:
    """Join the selected repo members with what the broker holds; devices that report but
    are not in the repo at all are listed apart (not those the selector left out)."""
    members = roster.selected(selector)
    rows = [row_of(m.name, reports.last.get(m.name), m.groups) for m in members]
    summary = dict.fromkeys(SUMMARY_KEYS, 0)
    for row in rows:
        summary[row.bucket] = summary.get(row.bucket, 0) + 1
    known = {m.name for m in roster.members}
    strangers = [
        row_of(name, message, [])
        for name, message in sorted(reports.last.items())
        if name not in known
    ]
    on_target = sum(1 for r in rows if same_commit(r.last_applied_commit, target))
    return FleetStatus(rows, strangers, summary, target, on_target)
