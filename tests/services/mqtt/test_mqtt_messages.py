"""The wire format: the committed JSON Schema is the one the models generate and is valid
draft 2020-12; built messages validate against it; sync payloads are size-limited and
validated (nothing else is accepted)."""

from __future__ import annotations

import json

import jsonschema
import pytest
from uplink_kit import REPO, message_validator

from reconciler.schema import render
from reconciler.services.mqtt import messages


def test_committed_schema_is_current_and_valid() -> None:
    committed = (REPO / "schemas" / "mqtt-messages.schema.json").read_text()
    assert committed == render(messages.message_schema()), (
        "schemas/mqtt-messages.schema.json is stale: regenerate it from "
        "reconciler.services.mqtt.messages.message_schema()"
    )
    jsonschema.Draft202012Validator.check_schema(json.loads(committed))


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (messages.Status, {"syncState": "Progressing", "drift": [], "extra": "ignored"}),
        (messages.ApplyStarted, {"commit": "abc", "summary": {"add": 1}}),
        (
            messages.ApplyResult,
            {"commit": "abc", "status": "failed", "applied": 0, "error": "x", "applyId": 3},
        ),
        (messages.ApplyRolledBack, {"commit": "abc", "to": "def", "reason": "health"}),
        (messages.CommitRejected, {"commit": "abc", "reason": "InvalidSpec", "message": "m"}),
        (messages.SyncRequested, {"scope": "fleet", "requestId": "r-1", "reason": None}),
        (messages.State, {"state": {"system": {"hostname": "h"}}}),
        (messages.Telemetry, {"telemetry": {"system": {"cpuPercent": 3.5}}}),
    ],
)
def test_built_messages_validate(model: type[messages.Message], fields: dict[str, object]) -> None:
    payload = messages.build(model, fields, device="d", seq=7, time=messages.stamp(0))
    data = json.loads(payload)
    assert data["seq"] == 7 and data["time"] == "1970-01-01T00:00:00.000Z"
    assert "extra" not in data
    assert not list(message_validator().iter_errors(data))


def test_offline_status_validates() -> None:
    will = json.loads(messages.build(messages.Offline, {}, device="d", reason="connectionLost"))
    assert will == {
        "type": "status",
        "device": "d",
        "online": False,
        "reason": "connectionLost",
        "time": None,
    }
    assert not list(message_validator().iter_errors(will))


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"", messages.SyncRequest()),
        (b"  \n", messages.SyncRequest()),
        (b"{}", messages.SyncRequest()),
        (
            b'{"requestId": "deploy-42", "reason": "hotfix"}',
            messages.SyncRequest(request_id="deploy-42", reason="hotfix"),
        ),
    ],
)
def test_sync_payloads_accepted(payload: bytes, expected: messages.SyncRequest) -> None:
    assert messages.parse_sync(payload) == expected
    assert not list(message_validator().iter_errors(json.loads(payload.strip() or b"{}")))


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"{" + b" " * 2000 + b"}", "at most 1024"),
        (b"\xff\xfe", "not UTF-8 JSON"),
        (b"{nope", "not UTF-8 JSON"),
        (b'["sync"]', "not a JSON object"),
        (b'{"spec": {"system": {"hostname": "evil"}}}', "spec: Extra inputs are not permitted"),
        (b'{"requestId": 42}', "requestId"),
        (b'{"requestId": "a b"}', "requestId"),
        (b'{"reason": "line\\nbreak"}', "reason"),
        (b'{"request_id": "x"}', "request_id: Extra inputs"),
    ],
)
def test_sync_payloads_refused(payload: bytes, problem: str) -> None:
    with pytest.raises(messages.InvalidSync, match=problem.replace("(", r"\(")):
        messages.parse_sync(payload)
