"""Property-based fuzzing of the status endpoint, bounded (bench/fuzz.py runs longer): raw
HTTP requests built from the routes never get a 5xx and never stop it answering."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from apikit import UNO, Served, apply_spec, serve, write_secrets
from fuzzkit import check_request, http_requests
from hypothesis import HealthCheck, given, settings

from reconciler.api.limits import ServerLimits

PING = b"GET /auth/ping HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n"
BOUNDED = settings(
    max_examples=25,
    deadline=None,  # a loaded machine is slow, not hung; the run itself is bounded
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("fuzz")
    secrets = write_secrets(root / "secrets")
    apply_spec(UNO, root / "state", secrets)
    served = serve(UNO, root / "state", secrets, limits=ServerLimits(rate=0))
    yield served
    served.handle.stop()


@BOUNDED
@given(http_requests())
def test_any_request_gets_an_answer_below_500(endpoint: Served, raw: bytes) -> None:
    check_request(endpoint.handle.port, raw)
    assert check_request(endpoint.handle.port, PING) == 200
