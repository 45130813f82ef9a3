"""The endpoint's parts without a server: permissions, tokens, the read cache, listen
addresses, command-line redaction and the hardware shapes."""

from __future__ import annotations

import asyncio
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from reconciler.api.accounts import Backoff, FailureTracker, LockPolicy, grants
from reconciler.api.cache import ReadCache
from reconciler.api.hostinfo import redact_cmdline
from reconciler.api.portal import BadParameter, Unavailable, disks, gpio, interfaces
from reconciler.api.server import parse_listen
from reconciler.api.tokens import TokenSigner
from reconciler.profiles import get_profile


@pytest.mark.parametrize(
    ("permission", "ok"),
    [
        ("status:read", True),
        ("*:*", True),
        ("status:*", True),
        ("*:read", True),
        ("status:write", False),
        ("gpio:read", False),
        ("*:write", False),
    ],
)
def test_grants(permission: str, ok: bool) -> None:
    assert grants(permission) is ok


def test_token_round_trip_and_revocation() -> None:
    signer = TokenSigner(ec.generate_private_key(ec.SECP256R1()), ttl_seconds=60)
    token, claims = signer.issue("monitor", now=1000.0)
    assert signer.verify(token, now=1030.0) == claims
    assert signer.verify(token, now=1061.0) is None  # expired
    assert signer.verify(token + "x", now=1030.0) is None
    other = TokenSigner(ec.generate_private_key(ec.SECP256R1()), 60)
    assert other.verify(token, now=1030.0) is None
    signer.revoke(claims)
    assert signer.verify(token, now=1030.0) is None


def test_failure_tracker_window() -> None:
    policy = LockPolicy(True, fail_times=3, fail_window=60.0, lock_window=300.0)
    tracker = FailureTracker()
    assert not tracker.failed("a", policy, 0.0)
    assert not tracker.failed("a", policy, 10.0)
    assert not tracker.failed("a", policy, 100.0)  # the first two fell out of the window
    assert not tracker.locked("a", 100.0)
    assert not tracker.failed("a", policy, 110.0)
    assert tracker.failed("a", policy, 120.0)
    assert tracker.locked("a", 419.0) and not tracker.locked("a", 421.0)
    assert not tracker.failed("b", LockPolicy(), 0.0)  # no authLock: never locks


def test_backoff_doubles_after_the_free_failures() -> None:
    backoff = Backoff(free=2, base=1.0, cap=5.0, forget=100.0)
    backoff.failed("a", 0.0)
    assert backoff.wait("a", 0.0) == 0.0
    backoff.failed("a", 0.0)
    assert backoff.wait("a", 0.5) == 0.5 and backoff.wait("a", 1.0) == 0.0
    backoff.failed("a", 1.0)
    assert backoff.wait("a", 1.0) == 2.0
    for _ in range(10):
        backoff.failed("a", 1.0)
    assert backoff.wait("a", 1.0) == 5.0  # capped
    assert backoff.wait("b", 1.0) == 0.0  # per key
    assert backoff.wait("a", 200.0) == 0.0  # forgotten
    backoff.succeeded("a")
    assert backoff.wait("a", 1.0) == 0.0


def test_cache_loads_once_and_serves_stale_while_reloading() -> None:
    calls: list[float] = []
    release = threading.Event()
    now = [0.0]

    def load() -> int:
        calls.append(now[0])
        if len(calls) == 2:
            release.wait(10)
        return len(calls)

    async def scenario() -> None:
        cache = ReadCache(ttl=1.0, clock=lambda: now[0])
        first = await asyncio.gather(*(cache.get("k", load) for _ in range(20)))
        assert {s.value for s in first} == {1} and len(calls) == 1
        now[0] = 5.0  # stale: one reload starts, the others get the old value at once
        reload = asyncio.ensure_future(cache.get("k", load))
        await asyncio.sleep(0.05)
        stale = await asyncio.gather(*(cache.get("k", load) for _ in range(5)))
        assert {s.value for s in stale} == {1}
        release.set()
        assert (await reload).value == 2 and len(calls) == 2

    asyncio.run(scenario())


def test_cache_remembers_errors_for_the_ttl() -> None:
    calls = []

    def load() -> int:
        calls.append(1)
        raise OSError("device gone")

    async def scenario() -> None:
        cache = ReadCache(ttl=60.0)
        for _ in range(3):
            with pytest.raises(OSError):
                await cache.get("k", load)

    asyncio.run(scenario())
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:9100", ("127.0.0.1", 9100)),
        (":8080", ("127.0.0.1", 8080)),
        ("localhost", ("localhost", 9100)),
        ("[::1]:9200", ("::1", 9200)),
        ("::1", ("::1", 9100)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
    ],
)
def test_parse_listen(value: str, expected: tuple[str, int]) -> None:
    assert parse_listen(value) == expected


@pytest.mark.parametrize("value", ["h:70000", "h:x", "a:b:c", "[::1]x"])
def test_parse_listen_rejects(value: str) -> None:
    with pytest.raises(ValueError):
        parse_listen(value)


def test_redact_cmdline() -> None:
    args = [
        "mosquitto_pub",
        "-u",
        "dev",
        "--password",
        "hunter2",
        "--api-key=abc123",
        "--pw",
        "mqtts://user:s3cret@broker:8883",
        "-P",
        "plain",
    ]
    text = redact_cmdline(args)
    for secret in ("hunter2", "abc123", "s3cret"):
        assert secret not in text
    assert "--password (sensitive)" in text and "--api-key=(sensitive)" in text
    assert "mqtts://user:(sensitive)@broker:8883" in text


def test_shapes_without_hardware_and_bad_ids() -> None:
    with pytest.raises(Unavailable):
        gpio({"gpio": {"pins": {}}}, "0")
    pins = {"gpio": {"pins": {"0": {"direction": "output", "level": "high"}}}}
    assert gpio(pins, "0") == {"pin": 0, "dir": 0, "level": 1}
    for bad in ("1", "-0", "\u0660", "00000001", ""):  # U+0660: an Arabic-Indic zero
        with pytest.raises(BadParameter):
            gpio(pins, bad)


def test_disks_group_partitions_and_count_bind_mounts_once() -> None:
    part = {"sizeBytes": 100, "usedBytes": 40, "freeBytes": 60, "usedPercent": 40.0}
    observed = {
        "disks": [
            {**part, "device": "/dev/nvme0n1p1", "mountPoint": "/"},
            {**part, "device": "/dev/nvme0n1p1", "mountPoint": "/var/lib/docker"},
            {**part, "device": "/dev/nvme0n1p2", "mountPoint": "/boot"},
            {**part, "device": "/dev/sda1", "mountPoint": "/mnt/usb", "removable": True},
        ]
    }
    result = {d["name"]: d for d in disks(observed)}
    assert set(result) == {"/dev/nvme0n1", "/dev/sda"}
    assert result["/dev/nvme0n1"]["sizeBytes"] == 200
    assert len(result["/dev/nvme0n1"]["partitions"]) == 3
    assert result["/dev/sda"]["mediaType"] == "Removable media"


def test_interfaces_follow_the_model_order() -> None:
    profile = get_profile("AIG-302")
    observed = {
        "network": {
            "interfaces": {"eth1": {"dhcp": True}, "eth0": {"dhcp": False, "enabled": False}},
            "wifi": {"wlan0": {"enabled": False}},
            "cellular": {"wwan0": {"enabled": True}},
            "routePriority": ["eth0", "wwan0"],
        }
    }
    out = interfaces(observed, profile)
    assert [i["name"] for i in out] == ["eth0", "eth1", "wlan0", "wwan0"]
    default = [i["name"] for i in out if i["isDefault"]]
    assert default == ["wwan0"]  # eth0 is down: the next in routePriority
    assert out[0]["connected"] is False and "addresses" not in out[0]
    assert out[3]["type"] == "Cellular"
