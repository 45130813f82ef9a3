"""The uplink's wire format: JSON payloads built through these models, so every message the
device sends matches schemas/mqtt-messages.schema.json (generated from them), and the one
message it accepts, a sync trigger, is size-limited and validated before it does anything.

Every outgoing message carries `type`, `device`, `seq` (strictly increasing per device, across
restarts: order and de-duplicate by it, delivery is at least once) and `time` (UTC, when the
message was made, which for a queued one is before it was delivered). The offline status (the
MQTT will, or a clean stop) has no `seq`: the broker or a stopping agent sends it out of band.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError

from reconciler.syncstatus import CamelModel, OperationRun, SyncFields

MAX_SYNC_PAYLOAD = 1024
"""Bytes; a sync trigger carries at most an id and a reason, anything bigger is refused."""

OfflineReason = Literal["connectionLost", "stopped", "disabled", "reconfigured"]
_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"


class InvalidSync(ValueError):
    """A sync trigger that is ignored (too big, not JSON, unknown fields)."""


def stamp(t: float | None = None) -> str:
    """ISO 8601 UTC with milliseconds: queued messages need finer than seconds to be told apart."""
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


class Message(CamelModel):
    model_config = ConfigDict(frozen=True)


class Envelope(Message):
    type: str
    """status, event, state or telemetry: which of the shapes below."""
    device: str
    """The device's name in the fleet (metadata.name)."""
    seq: int = Field(ge=1)
    """Strictly increasing per device; a consumer orders and de-duplicates by it."""
    time: str
    """When the message was made (UTC, ms); for a queued message, before delivery."""


# -- status (retained on <prefix>/<device>/status) ----------------------------------------


class Status(Envelope, SyncFields):
    """The agent's sync status, as `reconcile status --json` shows it (source URL left out:
    it may hold credentials); the fields are reconciler.syncstatus.SyncFields."""

    type: Literal["status"] = "status"
    online: Literal[True] = True


class Offline(Message):
    """The MQTT will (connectionLost) or what a clean disconnect leaves retained."""

    type: Literal["status"] = "status"
    device: str
    online: Literal[False] = False
    reason: OfflineReason
    time: str | None = None
    """When the agent went away; null in the will, which is written at connect time."""


# -- events (<prefix>/<device>/events) -----------------------------------------------------


class ApplyStarted(Envelope):
    type: Literal["event"] = "event"
    event: Literal["apply.started"] = "apply.started"
    commit: str
    summary: dict[str, int]
    """Changes about to be applied: {add, change, remove}."""


class ApplyResult(Envelope):
    type: Literal["event"] = "event"
    event: Literal["apply.result"] = "apply.result"
    commit: str
    status: Literal["applied", "failed", "interrupted", "reverted", "deferred"]
    """deferred: an update lock held on the device put a one-shot operation off."""
    applied: int
    """Changes applied before it finished or stopped."""
    error: str | None = None
    apply_id: int | None = None
    """The apply's id in `reconcile history`."""


class ApplyRolledBack(Envelope):
    type: Literal["event"] = "event"
    event: Literal["apply.rolledBack"] = "apply.rolledBack"
    commit: str
    """The commit whose health checks failed."""
    to: str
    """The known-good commit the device went back to."""
    reason: str


class CommitRejected(Envelope):
    type: Literal["event"] = "event"
    event: Literal["commit.rejected"] = "commit.rejected"
    commit: str
    reason: str
    """InvalidSpec, SignatureRejected or HistoryRewound (the message names both commits)."""
    message: str


class SyncRequested(Envelope):
    """A valid sync trigger arrived and the agent was asked to fetch and reconcile."""

    type: Literal["event"] = "event"
    event: Literal["sync.requested"] = "sync.requested"
    scope: Literal["device", "fleet"]
    """Which topic it came on: <prefix>/<device>/sync or <prefix>/fleet/sync."""
    request_id: str | None = None
    reason: str | None = None


class OperationResult(Envelope, OperationRun):
    """A one-shot operation of the spec (`spec.operations`) ran on the device; the fields
    are reconciler.syncstatus.OperationRun."""

    type: Literal["event"] = "event"
    event: Literal["operation.result"] = "operation.result"
    commit: str


EVENTS: dict[str, type[Envelope]] = {
    "apply.started": ApplyStarted,
    "apply.result": ApplyResult,
    "apply.rolledBack": ApplyRolledBack,
    "commit.rejected": CommitRejected,
    "sync.requested": SyncRequested,
    "operation.result": OperationResult,
}


# -- reported state and telemetry ----------------------------------------------------------


class State(Envelope):
    """What the device is, as `reconcile observe` shows it (secrets as "(sensitive)")."""

    type: Literal["state"] = "state"
    state: dict[str, Any]


class Telemetry(Envelope):
    """Read-only readings beside the configuration: CPU, memory, hardware monitor, disks."""

    type: Literal["telemetry"] = "telemetry"
    telemetry: dict[str, Any]


# -- incoming ------------------------------------------------------------------------------


class SyncRequest(Message):
    """Payload of <prefix>/<device>/sync and <prefix>/fleet/sync; empty is `{}`. It only
    makes the agent fetch from its trusted source now: nothing in it is ever applied."""

    request_id: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$"
    )
    """Echoed in the sync.requested event, to correlate."""
    reason: str | None = Field(default=None, max_length=256, pattern=_NO_CONTROL)
    """Free text for the log (no control characters)."""


def parse_sync(payload: bytes | bytearray) -> SyncRequest:
    if len(payload) > MAX_SYNC_PAYLOAD:
        raise InvalidSync(f"payload of {len(payload)} bytes; at most {MAX_SYNC_PAYLOAD}")
    if not payload.strip():
        return SyncRequest()
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidSync(f"not UTF-8 JSON ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise InvalidSync("not a JSON object")
    try:
        return SyncRequest.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise InvalidSync(problems(exc)) from None


def problems(exc: ValidationError) -> str:
    """Where and what, without the offending values (they are untrusted or may be long)."""
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}"
        for e in exc.errors(include_input=False, include_url=False)
    )


# -- building ------------------------------------------------------------------------------


def build(model: type[Message], fields: dict[str, Any], **envelope: Any) -> bytes:
    """`model` from the known camelCase keys of `fields` (the agent's dicts may carry more)."""
    known = {f.alias or name for name, f in model.model_fields.items()}
    picked = {k: v for k, v in fields.items() if k in known}
    return model.model_validate({**picked, **envelope}).model_dump_json().encode()


def status_view(status: dict[str, Any]) -> dict[str, Any]:
    """The status fields a message carries, minus the per-pass timestamps, to tell a real
    change from a pass that found nothing new."""
    known = {f.alias for f in Status.model_fields.values()} - {"lastFetchedAt"}
    view = {k: v for k, v in status.items() if k in known}
    if isinstance(view.get("lastPlan"), dict):
        view["lastPlan"] = {k: v for k, v in view["lastPlan"].items() if k != "at"}
    return view


def message_schema() -> dict[str, Any]:
    """schemas/mqtt-messages.schema.json: every message the uplink sends or accepts."""
    from pydantic import TypeAdapter

    from reconciler.schema import SCHEMA_DRAFT
    from reconciler.spec.schema_docs import DocstringJsonSchema

    outgoing: Any = Status | Offline | State | Telemetry
    for event in EVENTS.values():
        outgoing = outgoing | event
    sent = TypeAdapter(outgoing).json_schema(
        mode="serialization", by_alias=True, schema_generator=DocstringJsonSchema
    )
    accepted = SyncRequest.model_json_schema(
        mode="validation", by_alias=True, schema_generator=DocstringJsonSchema
    )
    defs = {**sent.pop("$defs"), "SyncRequest": accepted}
    return {
        "$schema": SCHEMA_DRAFT,
        "title": "reconciler MQTT messages",
        "description": (
            "Payloads on <prefix>/<device>/status (Status, Offline; retained), /events "
            "(ApplyStarted, ApplyResult, ApplyRolledBack, CommitRejected, SyncRequested), "
            "/state (State), /telemetry (Telemetry); accepted on <prefix>/<device>/sync and "
            "<prefix>/fleet/sync: SyncRequest."
        ),
        "anyOf": [*sent["anyOf"], {"$ref": "#/$defs/SyncRequest"}],
        "$defs": dict(sorted(defs.items())),
    }
