"""The rollout-wave decision: may this device take this commit now, or must it wait, and why.

Pure: the rollout spec, the device's own name and labels, the fleet's members, the retained
status messages of the other devices (None without a broker), the fleet's decisions
(`reconcile fleet promote|pause|resume`) and the clock go in; allow or wait(reason) comes
out. The agent's gate gathers the inputs (reconciler.agent.rollout); the messages are the
ones `reconcile fleet status` reads (reconciler.fleet.status).

Wire format of a decision, retained on `<prefix>/fleet/rollout/<COMMIT>`:
  {"type": "rollout", "commit": COMMIT, "decision": "promote"|"pause"|"resume", "time": ISO}
promote: every wave takes COMMIT at once; pause: no device that has not applied COMMIT yet
takes it; resume: back to the waves. The newest decision naming the commit wins.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from reconciler.fleet.roster import Member
from reconciler.fleet.status import same_commit
from reconciler.spec.rollout import RolloutSpec, Wave, seconds

Action = Literal["promote", "pause", "resume"]
ACTIONS: tuple[str, ...] = get_args(Action)
DECISIONS_LEAF = "fleet/rollout"
FAILED_STATES = ("Failed", "Stalled")


def decisions_topic(prefix: str, commit: str = "+") -> str:
    """`<prefix>/fleet/rollout/<commit>` (`+`: every decision)."""
    return "/".join(p for p in (prefix, DECISIONS_LEAF, commit) if p)


def decision_payload(action: Action, commit: str, time: str) -> bytes:
    body = {"type": "rollout", "commit": commit, "decision": action, "time": time}
    return json.dumps(body).encode()


def parse_decision(payload: bytes) -> dict[str, Any] | None:
    """A decision message, or None for anything else (an empty payload clears one)."""
    try:
        message = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if (
        not isinstance(message, dict)
        or message.get("type") != "rollout"
        or message.get("decision") not in ACTIONS
        or not isinstance(message.get("commit"), str)
    ):
        return None
    return message


def epoch(stamp: Any) -> float | None:
    """An ISO 8601 UTC time of a message as seconds since the epoch (None if not one)."""
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class Evidence:
    """What the device knows when it decides."""

    members: list[Member]
    """The fleet's devices with their labels (the repo at the commit)."""
    reports: Mapping[str, Mapping[str, Any]] | None
    """Each device's retained status message; None when there is no broker to ask."""
    decisions: list[dict[str, Any]] = field(default_factory=list)
    now: float = 0.0
    first_seen: float = 0.0
    """When this device first saw the commit (the `after:` schedule counts from it)."""
    offline_since: Mapping[str, float] = field(default_factory=dict)
    """When a device was first seen offline, for offline messages without a time."""


@dataclass(frozen=True)
class Verdict:
    allow: bool
    reason: str
    wave: str | None = None
    until: float | None = None
    """When waiting on the time schedule: when it ends (epoch seconds)."""


def wave_index(rollout: RolloutSpec, labels: Mapping[str, str]) -> int:
    """The first wave whose selector `labels` match; len(waves) for none (goes last)."""
    for i, wave in enumerate(rollout.waves):
        if all(labels.get(k) == v for k, v in wave.selector.items()):
            return i
    return len(rollout.waves)


def decision_for(decisions: Iterable[Mapping[str, Any]], commit: str) -> str | None:
    """The newest decision naming `commit` (full or abbreviated), or None."""
    matching = [d for d in decisions if same_commit(str(d.get("commit")), commit)]
    if not matching:
        return None
    newest = max(matching, key=lambda d: epoch(d.get("time")) or 0.0)
    return str(newest["decision"])


def decide(
    rollout: RolloutSpec, device: str, labels: Mapping[str, str], commit: str, seen: Evidence
) -> Verdict:
    """Allow, or wait with the reason, for `device` to apply `commit`."""
    index = wave_index(rollout, labels)
    name = rollout.waves[index].name if index < len(rollout.waves) else None
    short = commit[:12]
    decision = decision_for(seen.decisions, commit)
    if decision == "pause":
        return Verdict(False, f"commit {short} is paused by the fleet", name)
    if decision == "promote":
        return Verdict(True, f"commit {short} is promoted by the fleet", name)
    if index == 0:
        return Verdict(True, f"first wave {name}", name)
    if seen.reports is None:
        return _scheduled(rollout, index, short, seen)
    for earlier in range(index):
        blocking = _blocking(rollout, earlier, device, commit, seen)
        if blocking:
            return Verdict(False, blocking, name)
    return Verdict(True, "every earlier wave is healthy on the commit", name)


def _scheduled(rollout: RolloutSpec, index: int, short: str, seen: Evidence) -> Verdict:
    """No broker: a wave takes the commit `after` its first sighting; without `after` it
    waits for the broker. A device in no wave waits as long as the longest wave."""
    last = index >= len(rollout.waves)
    name = None if last else rollout.waves[index].name
    waves = rollout.waves if last else rollout.waves[index : index + 1]
    delays = [seconds(w.after) for w in waves if w.after is not None]
    if not delays:
        return Verdict(False, f"no broker to see the earlier waves on {short}", name)
    delay = max(delays)
    until = seen.first_seen + delay
    if seen.now >= until:
        return Verdict(True, f"no broker: {delay:g} s since {short} was first seen", name)
    reason = f"no broker: wave schedule holds {short} for {until - seen.now:.0f} s more"
    return Verdict(False, reason, name, until)


def _blocking(
    rollout: RolloutSpec, index: int, device: str, commit: str, seen: Evidence
) -> str | None:
    """Why wave `index` keeps later waves from `commit`, or None when it does not."""
    assert seen.reports is not None
    wave = rollout.waves[index]
    members = [
        m for m in seen.members if m.name != device and wave_index(rollout, m.labels) == index
    ]
    limit = seconds(rollout.offline_after)
    counted = [m.name for m in members if not _gone(seen, m.name, limit)]
    if not counted:
        return None
    reports = [seen.reports.get(n) for n in counted]
    failed = sum(1 for r in reports if r is not None and _failed_on(r, commit))
    healthy = sum(1 for r in reports if r is not None and _synced_on(r, commit))
    n, short = len(counted), commit[:12]
    abort = rollout.abort_on_failed
    if abort is not None and failed / n > abort:
        return (
            f"wave {wave.name} aborted: {failed} of {n} device(s) failed on {short} "
            f"(abortOnFailed {abort:g})"
        )
    if healthy / n < wave.min_healthy:
        return _short_of(wave, healthy, n, short)
    return None


def _short_of(wave: Wave, healthy: int, n: int, short: str) -> str:
    return (
        f"wave {wave.name}: {healthy} of {n} device(s) Synced on {short} "
        f"(minHealthy {wave.min_healthy:g})"
    )


def _gone(seen: Evidence, name: str, limit: float) -> bool:
    """Offline for longer than `limit`: neither blocks nor counts."""
    assert seen.reports is not None
    report = seen.reports.get(name)
    if report is None or report.get("online") is not False:
        return False
    since = epoch(report.get("time")) or seen.offline_since.get(name, seen.now)
    return seen.now - since > limit


def _synced_on(report: Mapping[str, Any], commit: str) -> bool:
    """Online, Synced and healthy on `commit` (the one applied, or a no-op plan of it)."""
    if report.get("online") is not True or report.get("syncState") != "Synced":
        return False
    if _condition(report, "Healthy") == "False":
        return False
    plan = report.get("lastPlan")
    planned = plan.get("commit") if isinstance(plan, dict) else None
    return same_commit(report.get("lastAppliedCommit"), commit) or same_commit(planned, commit)


def _failed_on(report: Mapping[str, Any], commit: str) -> bool:
    if report.get("online") is not True or report.get("syncState") not in FAILED_STATES:
        return False
    rejected = report.get("rejected")
    refused = rejected.get("commit") if isinstance(rejected, dict) else None
    return same_commit(report.get("lastFetchedCommit"), commit) or same_commit(refused, commit)


def _condition(report: Mapping[str, Any], kind: str) -> str | None:
    for cond in report.get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            return str(cond.get("status"))
    return None


def offline_seen(
    reports: Mapping[str, Mapping[str, Any]], known: Mapping[str, float], now: float
) -> dict[str, float]:
    """When each device now offline was first seen so (kept from `known`, else `now`);
    devices back online are dropped."""
    return {
        name: known.get(name, now)
        for name, report in reports.items()
        if report.get("online") is False
    }
