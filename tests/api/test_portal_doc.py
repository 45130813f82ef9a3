"""Every documented GET the endpoint serves, over real HTTP on the sim, against the
reference's own example (portaldoc.py states the comparison rules); the fixture itself is
what scripts/portal_fixture.py extracts from the doc today."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from apikit import UNO, Served, apply_spec, read_events, serve, write_secrets
from portaldoc import differences, gets
from test_portal_routes import schema_check
from testkit import REPO

from reconciler.api.routes import NOT_SERVED, OPERATIONS

SCRIPT = REPO / "scripts" / "portal_fixture.py"
TABLE = REPO / "scripts" / "portal_gets.py"
DOC = REPO / "tests" / "reference" / "platform-portal-rest-api.txt"
ARGUMENTS = {"{id}": "0", "{name}": "ssh", "{uuid}": "wlan0"}
"""What each path parameter is in the requests: pin/LED 0, service ssh, Wi-Fi wlan0."""
NO_DATA_ANYWHERE = {
    "/edgehub/api/edgebus/status": "no backend runs an embedded broker",
}
"""Served routes that answer 404 (the doc's no-such-service answer) on every backend."""
ROUTES = {(op.path, op.method) for op in OPERATIONS}
SERVED = [
    g
    for g in gets()
    if g["transport"] == "http"
    and g["path"] not in NOT_SERVED
    and g["path"] not in NO_DATA_ANYWHERE
]


SSE_DEPARTURES = {
    "/platform/api/networking/interfaces": "the SSE example is a Windows host's: its "
    "dnssuffix, ipv4Metric and ipv6Metric are not served (the JSON example's keys all are)",
}
"""SSE examples the stream is not held to, and why."""
SSE_EXAMPLES = [
    g
    for g in gets()
    if g["transport"] == "sse" and g.get("example") and g["path"] not in SSE_DEPARTURES
]


def _url(path: str) -> str:
    for param, value in ARGUMENTS.items():
        path = path.replace(param, value)
    return path


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The UNO-2484G test device, with an AppHub service among its services."""
    root = tmp_path_factory.mktemp("portal-doc")
    spec = root / "uno.yaml"
    text = UNO.read_text().replace(
        "services: {ssh: running, telnet: stopped}",
        "services: {ssh: running, telnet: stopped, apphub: running}",
    )
    assert "apphub" in text
    spec.write_text(text)
    secrets = write_secrets(root / "secrets")
    apply_spec(spec, root / "state", secrets)
    served = serve(spec, root / "state", secrets)
    yield served
    served.handle.stop()


def test_the_fixture_is_what_the_doc_holds() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_readme_table_is_what_the_script_prints() -> None:
    result = subprocess.run([sys.executable, str(TABLE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_documented_get_is_served_or_has_a_reason() -> None:
    for entry in gets():
        if entry["path"] in NOT_SERVED:
            assert (entry["path"], "GET") not in ROUTES, entry["path"]
        else:
            assert (entry["path"], "GET") in ROUTES, f"{entry['heading']}: no route"


@pytest.mark.parametrize("entry", SERVED, ids=lambda g: g["heading"])
def test_served_get_has_the_documented_shape(device: Served, entry: dict[str, Any]) -> None:
    path = _url(entry["path"])
    response = device.login() if path == "/auth/token" else device.get(path)
    assert response.status_code == entry["status"], response.text
    if entry["status"] == 204:
        assert response.content == b""
        return
    if entry["media"] == "text/plain":
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text == entry["example"]
        return
    if entry["media"] == "application/octet-stream":  # a file download (the certificate)
        assert response.headers["content-type"] == entry["media"]
        assert response.content
        return
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert differences(body, entry["example"], entry["path"]) == []
    schema_check(body, path)


@pytest.mark.parametrize("entry", SSE_EXAMPLES, ids=lambda g: g["heading"])
def test_event_stream_has_the_documented_shape(device: Served, entry: dict[str, Any]) -> None:
    headers = {"Accept": "text/event-stream"}
    with (
        device.client(device.token()) as c,
        c.stream("GET", entry["path"], headers=headers) as response,
    ):
        assert response.status_code == 200
        ((event, data),) = read_events(response, 1)
    assert event == "message"
    assert differences(data, entry["example"], entry["path"]) == []


@pytest.mark.parametrize("path", sorted(NO_DATA_ANYWHERE))
def test_routes_without_data_answer_404(device: Served, path: str) -> None:
    response = device.get(path)
    assert response.status_code == 404
    assert len(response.json()["errors"]) == 1


def test_the_comparison_sees_a_departure() -> None:
    """A wrong type, a missing key and an item matching no documented one are caught."""
    doc = {"a": 1, "b": [{"x": "s"}, {"x": "s", "y": True}], "c": 0.5}
    assert differences({"a": 2.0, "b": [{"x": "t", "y": False}], "c": 1.5}, doc, "/p") == []
    found = differences({"a": "1", "b": [{"y": True}], "c": 1}, doc, "/p")
    assert found == [
        "$.a: string '1', the doc shows 1",
        "$.b[0]: no key 'x'",
        "$.c: integer 1, the doc shows 0.5",
    ]


def test_every_path_parameter_has_an_argument() -> None:
    params = {part for g in SERVED for part in g["path"].split("/") if part.startswith("{")}
    assert params <= set(ARGUMENTS)


def test_no_doc_example_is_lost() -> None:
    """Each served JSON GET has an example to compare with (a parse that lost one would
    make its comparison vacuous)."""
    for entry in SERVED:
        if entry.get("media") == "application/json":
            assert entry["example"] not in (None, [], {}), entry["heading"]
