"""The session's retry rules, through httpx's MockTransport: reads and idempotent writes
(PUT, DELETE) are sent again after a connection error or a 5xx; a POST only when it cannot
have reached the unit (no connection was made) or the unit said 503; a 4xx never."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from reconciler.drivers.portal.session import Credentials, Policy, Session, run_sync
from reconciler.errors import DeviceError, DeviceUnavailable

Failure = Callable[[httpx.Request], httpx.Response]


def _unit(fail: Failure, times: int) -> tuple[httpx.Client, list[str]]:
    """A unit whose first `times` calls (after login) end with `fail`; then it answers 200."""
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            return httpx.Response(200, json={"code": 200, "expire": "x", "token": "t0k"})
        seen.append(request.method)
        if len(seen) <= times:
            return fail(request)
        return httpx.Response(200, json={"ok": True})

    client = httpx.Client(transport=httpx.MockTransport(handle), base_url="http://unit.test")
    return client, seen


def _session() -> Session:
    return Session("http://unit.test", Credentials("admin", "pw"), policy=Policy(backoff=0.001))


def _reset(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadError("connection reset after the request was sent", request=request)


def _refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def _status(code: int) -> Failure:
    return lambda request: httpx.Response(code, json={"errors": {"X": f"status {code}"}})


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("fail", [_reset, _refused, _status(500), _status(503)])
def test_idempotent_calls_are_retried(method: str, fail: Failure) -> None:
    client, seen = _unit(fail, times=2)
    assert run_sync(client, _session().call(method, "/x", "x")) == {"ok": True}
    assert seen == [method] * 3


@pytest.mark.parametrize("fail", [_refused, _status(503)])
def test_a_post_is_retried_only_when_it_was_not_taken(fail: Failure) -> None:
    client, seen = _unit(fail, times=1)
    assert run_sync(client, _session().call("POST", "/x", "x")) == {"ok": True}
    assert seen == ["POST", "POST"]


@pytest.mark.parametrize(
    ("fail", "error"), [(_reset, DeviceUnavailable), (_status(500), DeviceError)]
)
def test_a_post_that_may_have_been_taken_is_not_sent_again(
    fail: Failure, error: type[Exception]
) -> None:
    client, seen = _unit(fail, times=1)
    with pytest.raises(error):
        run_sync(client, _session().call("POST", "/x", "x"))
    assert seen == ["POST"]


@pytest.mark.parametrize("method", ["GET", "PUT", "POST"])
def test_a_4xx_is_never_retried(method: str) -> None:
    client, seen = _unit(_status(422), times=5)
    with pytest.raises(DeviceError, match="422"):
        run_sync(client, _session().call(method, "/x", "x"))
    assert seen == [method]
