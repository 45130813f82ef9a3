"""Response and error bodies from the platform portal reference (platform-portal-rest-api.txt)
that the auth and error tests use, and a strict shape comparison: same keys, same kinds of
values, recursively. The GET examples themselves are extracted from the doc into
fixtures/portal-doc-examples.json (portaldoc.py compares served GETs with them)."""

from __future__ import annotations

from typing import Any

PROCESS = {
    "pid": 1,
    "ppid": 0,
    "name": "systemd",
    "numThreads": 1,
    "memUsage": 9187328,
    "cpuPercent": 0.0010817868420981225,
    "username": "root",
    "elapsedTime": 1191547,
    "path": "/lib/systemd/systemd",
    "cmdline": "/sbin/init splash",
}
TOKEN = {"code": 200, "expire": "20XX-XX-XXT14:08:33+08:00", "token": ""}
UNAUTHORIZED = {"Code": 401, "Message": ""}
GPIO_BAD_ID = {"errors": {"GPIO": "invalid parameter"}}
LED_BAD_ID = {"errors": {"LED": ""}}


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_same_shape(actual: Any, documented: Any, where: str = "$") -> None:
    """Same keys at every level and the same kind of value (ints and floats are numbers)."""
    assert kind(actual) == kind(documented), f"{where}: {actual!r} is not like {documented!r}"
    if isinstance(documented, dict):
        missing = sorted(set(documented) - set(actual))
        extra = sorted(set(actual) - set(documented))
        assert not missing, f"{where}: missing keys {missing}"
        assert not extra, f"{where}: keys the reference lacks: {extra}"
        for key, value in documented.items():
            assert_same_shape(actual[key], value, f"{where}.{key}")
    elif isinstance(documented, list) and documented and actual:
        for i, item in enumerate(actual):
            assert_same_shape(item, documented[min(i, len(documented) - 1)], f"{where}[{i}]")
