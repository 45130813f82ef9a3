"""The rollout-wave decision, pure: spec, labels, the other devices' retained statuses, the
fleet's decisions and the clock in; allow or wait(reason) out. No broker, no agent."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reconciler.fleet.roster import Member
from reconciler.fleet.waves import (
    Evidence,
    decide,
    decision_payload,
    decisions_topic,
    offline_seen,
    parse_decision,
    wave_index,
)
from reconciler.spec.rollout import RolloutSpec, seconds

C = "9f2c1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f"
OLD = "1111111111111111111111111111111111111111"
NOW = 1_800_000_000.0


def rollout(**extra: Any) -> RolloutSpec:
    return RolloutSpec.model_validate(
        {
            "waves": [
                {"name": "canary", "selector": {"ring": "canary"}, "minHealthy": 1.0},
                {"name": "site-a", "selector": {"site": "a"}, "minHealthy": 0.5},
            ],
            "offlineAfter": "15m",
            **extra,
        }
    )


MEMBERS = [
    Member("can-1", {"ring": "canary", "site": "a"}, []),
    Member("a-1", {"site": "a"}, []),
    Member("a-2", {"site": "a"}, []),
    Member("b-1", {"site": "b"}, []),
]


def status(state: str, commit: str | None = C, **more: Any) -> dict[str, Any]:
    return {
        "type": "status",
        "online": True,
        "syncState": state,
        "lastFetchedCommit": commit,
        "lastAppliedCommit": commit,
        **more,
    }


def offline(time: str | None = None) -> dict[str, Any]:
    return {"type": "status", "online": False, "reason": "connectionLost", "time": time}


def evidence(reports: dict[str, Any] | None, **kw: Any) -> Evidence:
    return Evidence(members=MEMBERS, reports=reports, now=NOW, first_seen=NOW, **kw)


def test_durations() -> None:
    assert [seconds(d) for d in ("500ms", "30s", "15m", "2h", "1d")] == [
        0.5,
        30.0,
        900.0,
        7200.0,
        86400.0,
    ]
    with pytest.raises(ValidationError):
        RolloutSpec.model_validate({"waves": [{"name": "x"}], "offlineAfter": "15 minutes"})
    with pytest.raises(ValidationError, match="unique"):
        RolloutSpec.model_validate({"waves": [{"name": "x"}, {"name": "x"}]})


def test_a_device_is_in_the_first_wave_it_matches_else_after_the_last() -> None:
    spec = rollout()
    assert wave_index(spec, {"ring": "canary", "site": "a"}) == 0
    assert wave_index(spec, {"site": "a"}) == 1
    assert wave_index(spec, {"site": "b"}) == 2


def test_the_first_wave_takes_a_commit_at_once() -> None:
    verdict = decide(rollout(), "can-1", {"ring": "canary"}, C, evidence({}))
    assert verdict.allow and verdict.wave == "canary"


def test_a_later_wave_waits_until_the_canary_is_synced_on_the_commit() -> None:
    spec = rollout()
    for reports in ({}, {"can-1": status("Progressing")}, {"can-1": status("Synced", OLD)}):
        verdict = decide(spec, "a-1", {"site": "a"}, C, evidence(reports))
        assert not verdict.allow
        assert "wave canary: 0 of 1 device(s) Synced on 9f2c1a2b3c4d" in verdict.reason
    verdict = decide(spec, "a-1", {"site": "a"}, C, evidence({"can-1": status("Synced")}))
    assert verdict.allow


def test_synced_on_a_no_op_commit_counts_through_the_last_plan() -> None:
    report = status("Synced", OLD, lastPlan={"commit": C, "summary": {}, "at": "x"})
    assert decide(rollout(), "a-1", {"site": "a"}, C, evidence({"can-1": report})).allow


def test_an_unhealthy_synced_device_does_not_count() -> None:
    cond = [{"type": "Healthy", "status": "False", "reason": "HealthCheckFailed"}]
    report = status("Synced", conditions=cond)
    assert not decide(rollout(), "a-1", {"site": "a"}, C, evidence({"can-1": report})).allow


def test_min_healthy_is_a_fraction_of_the_counted_devices() -> None:
    synced = {"can-1": status("Synced"), "a-1": status("Synced"), "a-2": status("Progressing")}
    assert decide(rollout(), "b-1", {"site": "b"}, C, evidence(synced)).allow  # 1 of 2 >= 0.5
    behind = {**synced, "a-1": status("Progressing")}
    verdict = decide(rollout(), "b-1", {"site": "b"}, C, evidence(behind))
    assert not verdict.allow and "wave site-a: 0 of 2" in verdict.reason


def test_a_failed_fraction_above_abort_on_failed_stops_later_waves() -> None:
    spec = rollout(abortOnFailed=0.4)
    reports = {"can-1": status("Synced"), "a-1": status("Failed", OLD, lastFetchedCommit=C)}
    reports["a-2"] = status("Synced")
    verdict = decide(spec, "b-1", {"site": "b"}, C, evidence(reports))
    assert not verdict.allow
    assert verdict.reason.startswith("wave site-a aborted: 1 of 2 device(s) failed")
    # the canary failing stops the rest too, even where minHealthy alone would not
    reports = {"can-1": status("Stalled", OLD, lastFetchedCommit=C)}
    verdict = decide(spec, "a-1", {"site": "a"}, C, evidence(reports))
    assert "wave canary aborted" in verdict.reason


def test_offline_longer_than_offline_after_neither_blocks_nor_counts() -> None:
    spec = rollout(offlineAfter="1s")
    recent = {"can-1": offline()}
    verdict = decide(spec, "a-1", {"site": "a"}, C, evidence(recent, offline_since={"can-1": NOW}))
    assert not verdict.allow  # offline for less than offlineAfter: it still blocks
    long_ago = {"can-1": NOW - 5}
    assert decide(spec, "a-1", {"site": "a"}, C, evidence(recent, offline_since=long_ago)).allow
    stopped = {"can-1": offline(time="2020-01-01T00:00:00.000Z")}  # a clean stop has a time
    assert decide(spec, "a-1", {"site": "a"}, C, evidence(stopped)).allow


def test_a_device_that_never_reported_blocks_its_wave() -> None:
    assert not decide(rollout(), "a-1", {"site": "a"}, C, evidence({"a-2": status("Synced")})).allow


def test_offline_seen_keeps_the_first_sighting_and_forgets_devices_back_online() -> None:
    reports = {"x": offline(), "y": offline(), "z": status("Synced")}
    assert offline_seen(reports, {"x": 5.0, "z": 1.0}, 9.0) == {"x": 5.0, "y": 9.0}


def test_pause_holds_every_wave_and_promote_lets_every_wave_take_it() -> None:
    def decision(action: str, time: str, commit: str = C) -> dict[str, Any]:
        parsed = parse_decision(decision_payload(action, commit, time))  # type: ignore[arg-type]
        assert parsed is not None
        return parsed

    spec = rollout()
    paused = [decision("pause", "2026-12-01T10:00:00.000Z", C[:7])]
    verdict = decide(spec, "can-1", {"ring": "canary"}, C, evidence({}, decisions=paused))
    assert not verdict.allow and "paused" in verdict.reason
    promoted = [*paused, decision("promote", "2026-12-01T11:00:00.000Z")]
    assert decide(spec, "b-1", {"site": "b"}, C, evidence({}, decisions=promoted)).allow
    resumed = [*promoted, decision("resume", "2026-12-01T12:00:00.000Z")]
    assert decide(spec, "can-1", {"ring": "canary"}, C, evidence({}, decisions=resumed)).allow
    assert not decide(spec, "b-1", {"site": "b"}, C, evidence({}, decisions=resumed)).allow
    other = [decision("pause", "2026-12-01T10:00:00.000Z", OLD)]
    assert decide(spec, "can-1", {"ring": "canary"}, C, evidence({}, decisions=other)).allow
    assert decisions_topic("plants/a", "9f2c") == "plants/a/fleet/rollout/9f2c"
    assert parse_decision(b"") is None and parse_decision(b'{"type": "status"}') is None


def test_without_a_broker_each_wave_waits_its_after() -> None:
    spec = RolloutSpec.model_validate(
        {
            "waves": [
                {"name": "canary", "selector": {"ring": "canary"}},
                {"name": "site-a", "selector": {"site": "a"}, "after": "2h"},
                {"name": "site-c", "selector": {"site": "c"}},
            ]
        }
    )
    at = Evidence(members=MEMBERS, reports=None, now=NOW, first_seen=NOW - 3600)
    verdict = decide(spec, "a-1", {"site": "a"}, C, at)
    assert not verdict.allow and verdict.until == NOW + 3600
    later = Evidence(members=MEMBERS, reports=None, now=NOW + 3600, first_seen=NOW - 3600)
    assert decide(spec, "a-1", {"site": "a"}, C, later).allow
    assert decide(spec, "can-1", {"ring": "canary"}, C, at).allow
    no_after = decide(spec, "c-1", {"site": "c"}, C, later)
    assert not no_after.allow and "no broker" in no_after.reason
    assert decide(spec, "b-1", {"site": "b"}, C, later).allow  # in no wave: the longest after
