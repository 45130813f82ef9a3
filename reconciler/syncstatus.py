"""The sync status: one typed shape for the agent's status.json, `reconcile status`,
`/reconciler/api/status`, the Modbus `reconciler.*` tags and the MQTT status message.

A neutral module: the agent writes it, the API, services and MQTT read it, and none of
them imports another for it. JSON (camelCase, stable):
  device, source {url}, lastFetchedCommit, lastFetchedAt, lastAppliedCommit, lastAppliedAt,
  syncState (Synced|OutOfSync|Progressing|Failed|Suspended|Stalled), drift [{path, op, risk}],
  waiting [{path, risk, until, reason}], rejected {commit, reason, message}, operations
  [{name, action, result, at, detail}], lastPlan {summary, at,
  commit}, conditions [{type, status, reason, message, lastTransitionTime}], updatedAt.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from reconciler.fsutil import atomic_write

STATUS_FILE = "status.json"
SyncState = Literal["Synced", "OutOfSync", "Progressing", "Failed", "Suspended", "Stalled"]
SYNC_STATES: tuple[str, ...] = get_args(SyncState)


def iso(t: float | None = None) -> str:
    """UTC, seconds: the status's time format."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if t is None else t))


class CamelModel(BaseModel):
    """Strict camelCase JSON, documented by attribute docstrings (MQTT messages use it too)."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        serialize_by_alias=True,
        use_attribute_docstrings=True,
        json_schema_serialization_defaults_required=True,
    )


class Drift(CamelModel):
    path: str
    op: Literal["add", "replace", "remove"]
    risk: str


class Waiting(CamelModel):
    path: str
    """What waits: a spec path, or `rollout` for a commit held by the rollout waves."""
    risk: str
    until: str | None
    """When the maintenance window opens (ISO 8601 with offset); null when not known."""
    reason: str | None = None
    """Why it waits, when more than a window (the rollout waves' reason)."""


class OperationRun(CamelModel):
    """One run of a one-shot operation (spec.operations), as the device records it; the
    MQTT `operation.result` event carries the same fields."""

    name: str
    """The operation's name: it runs at most once per device."""
    action: str
    """reboot, shutdown, blink, restartService or command."""
    result: str
    """ok, failed, or running (the record kept before it started, e.g. while rebooting)."""
    at: str
    detail: str | None = None
    """A command's exit code, or why the operation failed."""


class Condition(CamelModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str
    last_transition_time: str


class Rejected(CamelModel):
    commit: str
    reason: str
    message: str


class LastPlan(CamelModel):
    commit: str | None
    summary: dict[str, int]
    at: str


class SyncFields(CamelModel):
    """What the status says about syncing; the MQTT status message carries these too."""

    sync_state: SyncState
    last_fetched_commit: str | None = None
    last_fetched_at: str | None = None
    last_applied_commit: str | None = None
    """The commit being enforced: the last one applied (kept across restarts)."""
    last_applied_at: str | None = None
    drift: list[Drift] = []
    """Differences found on a drift check of the applied commit."""
    waiting: list[Waiting] = []
    """Changes held for the maintenance window, and a commit held by the rollout waves."""
    rejected: Rejected | None = None
    operations: list[OperationRun] = []
    """The one-shot operations this agent ran (spec.operations), the last 20, newest last."""
    conditions: list[Condition] = []
    last_plan: LastPlan | None = None


class Source(CamelModel):
    url: str | None = None


class SyncStatus(SyncFields):
    """The whole status document; `condition()` keeps each type's transition time."""

    model_config = ConfigDict(extra="ignore")
    device: str | None = None
    source: Source = Source()
    updated_at: str | None = None

    def condition(self, kind: str, ok: bool, reason: str, message: str = "") -> None:
        status: Literal["True", "False"] = "True" if ok else "False"
        for cond in self.conditions:
            if cond.type == kind:
                if cond.status != status:
                    cond.last_transition_time = iso()
                cond.status, cond.reason, cond.message = status, reason, message
                return
        self.conditions.append(
            Condition(
                type=kind, status=status, reason=reason, message=message, last_transition_time=iso()
            )
        )

    def condition_message(self, kind: str) -> str:
        return next((c.message for c in self.conditions if c.type == kind), "")

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SyncStatus | None:
        """The typed status, or None when `data` is not one (another version, damaged)."""
        try:
            return cls.model_validate(data)
        except ValidationError:
            return None


def read_status(state_dir: Path) -> dict[str, Any] | None:
    """The last status recorded in `state_dir` as written, or None if no agent ran there."""
    try:
        data = json.loads((state_dir / STATUS_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def load_status(state_dir: Path) -> SyncStatus | None:
    """The last status recorded in `state_dir`, typed; None if none or unreadable."""
    data = read_status(state_dir)
    return SyncStatus.from_dict(data) if data is not None else None


def write_status(state_dir: Path, status: SyncStatus | dict[str, Any]) -> None:
    """Atomically (temp, fsync, rename), stamped with updatedAt."""
    data = status.to_dict() if isinstance(status, SyncStatus) else dict(status)
    data["updatedAt"] = iso()
    atomic_write(state_dir / STATUS_FILE, json.dumps(data, indent=2).encode(), mode=0o644)
