"""Server-Sent Events: the SSE forms of hwmon, disk, interfaces and processes, and
/platform/api/events with the documented event types; each read for several events."""

from __future__ import annotations

import threading
from pathlib import Path

import jsonschema
import pytest
from apikit import UNO, Served, gateway, read_events, serve, uno, write_secrets
from portaldoc import gets

from reconciler.api.openapi import EVENTS, document

__all__ = ["gateway", "uno"]

DOCUMENTED_EVENTS = set(next(g["events"] for g in gets() if g["path"] == "/platform/api/events"))
"""The event types the reference lists for /platform/api/events (extracted with the fixture)."""
SSE = {"Accept": "text/event-stream"}


def validate(data: object, schema_name: str) -> None:
    schema = {"$ref": f"#/components/schemas/{schema_name}", **document()}
    jsonschema.Draft202012Validator(schema).validate(data)


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        ("/platform/api/hwmon", "Hwmon"),
        ("/platform/api/perif/disk", "DiskList"),
        ("/platform/api/networking/interfaces", "InterfaceList"),
        ("/platform/api/processes", "ProcessList"),
    ],
)
def test_route_streams_message_events(uno: Served, path: str, schema: str) -> None:
    with uno.client(uno.token()) as c, c.stream("GET", path, headers=SSE) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        events = read_events(response, 3)
    assert [event for event, _ in events] == ["message"] * 3
    for _, data in events:
        validate(data, schema)


def test_events_stream_has_the_documented_types(uno: Served) -> None:
    token = uno.token()
    with uno.client() as c, c.stream("GET", f"/platform/api/events?token={token}") as response:
        assert response.status_code == 200
        events = read_events(response, 2 * 6)
    seen = [event for event, _ in events]
    assert set(seen) <= DOCUMENTED_EVENTS
    assert set(seen) == DOCUMENTED_EVENTS - {"snmptrap"}  # no SNMP traps are received here
    assert all(seen.count(e) == 2 for e in set(seen)), seen  # two batches, one of each
    for event, data in events:
        validate(data, EVENTS[event])


def test_power_inputs_stream(uno: Served) -> None:
    path = "/platform/api/perif/redundant_power"
    with uno.client(uno.token()) as c, c.stream("GET", path, headers=SSE) as response:
        events = read_events(response, 2)
    assert events == [("message", {"vin1State": 1, "vin2State": 1})] * 2


def test_stream_of_missing_hardware_is_404(gateway: Served) -> None:
    response = gateway.get("/platform/api/perif/redundant_power", headers=SSE)
    assert response.status_code == 404
    assert response.json() == {"errors": {"Power": "not supported or no available data"}}


def test_streams_need_a_token(uno: Served) -> None:
    with uno.client() as c:
        for path in ("/platform/api/events", "/platform/api/hwmon"):
            response = c.get(path, headers=SSE)
            assert response.status_code == 401
            assert response.json()["Code"] == 401


def test_stopping_the_server_ends_open_streams(tmp_path: Path) -> None:
    served = serve(UNO, tmp_path / "state", write_secrets(tmp_path / "s"), sse_interval=0.05)
    token = served.token()
    ended = threading.Event()
    received: list[str] = []

    def listen() -> None:
        with served.client(token, timeout=60) as c, c.stream("GET", "/platform/api/events") as r:
            for line in r.iter_lines():
                if line.startswith("event:"):
                    received.append(line)
        ended.set()

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    while len(received) < 5 and thread.is_alive():
        thread.join(0.05)
    served.handle.stop()
    thread.join(30)
    assert ended.is_set() and len(received) >= 5
    assert not served.handle._thread.is_alive()
