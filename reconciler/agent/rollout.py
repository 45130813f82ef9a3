"""The agent's side of rollout waves: gather what the pure decision
(reconciler.fleet.waves.decide) needs, ask it, and remember what must outlive a pass.

The statuses of the other devices and the fleet's decisions are the retained messages on
the broker the device's own uplink uses (`cloud.mqtt`), read with the reader `reconcile
fleet status` uses, under a client id of its own (`<clientId>-rollout`). No broker in the
spec, or one that cannot be reached: the decision falls back to each wave's `after:`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.fleet.broker import BrokerOptions
    from reconciler.fleet.waves import Verdict
    from reconciler.operations import Target
    from reconciler.services.mqtt.settings import Settings

log = logging.getLogger("reconciler.agent")

READ_TIMEOUT_S = 10.0
"""How long a pass waits for the broker's retained messages before it falls back."""
KEEP_SEEN = 32
"""Commits whose first sighting is remembered (the `after:` schedule counts from it)."""


@dataclass
class Retained:
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)


def broker_options(settings: Settings, timeout: float = READ_TIMEOUT_S) -> BrokerOptions:
    """The uplink's connection as the fleet reader's options (another client id)."""
    from reconciler.fleet.broker import BrokerOptions

    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    tls = settings.tls is not None
    if settings.websocket_path is not None:
        url = f"{'wss' if tls else 'ws'}://{host}:{settings.port}{settings.websocket_path}"
    else:
        url = f"{'mqtts' if tls else 'mqtt'}://{host}:{settings.port}"
    return BrokerOptions(
        url=url,
        username=settings.username,
        password=settings.password,
        timeout_s=timeout,
        client_id=f"{settings.client_id}-rollout",
        tls_settings=settings.tls,
    )


def read_fleet(options: BrokerOptions, prefix: str) -> Retained:
    """Every device's retained status and every rollout decision under `prefix`."""
    from reconciler.fleet.broker import read_retained
    from reconciler.fleet.status import Reports, device_of, status_topic
    from reconciler.fleet.waves import decisions_topic, parse_decision

    reports = Reports()
    decisions: dict[str, dict[str, Any]] = {}
    base = decisions_topic(prefix, "")

    def on_message(topic: str, payload: bytes) -> None:
        device = device_of(topic, prefix)
        if device is not None:
            reports.record(device, payload)
        elif topic.startswith(f"{base}/"):
            decision = parse_decision(payload)
            if decision is None:
                decisions.pop(topic, None)
            else:
                decisions[topic] = decision

    topics = [status_topic(prefix), decisions_topic(prefix)]
    reader = read_retained(options, prefix, topics, on_message)
    reader.close()
    return Retained(reports.last, decisions)


class RolloutGate:
    """Decides for one agent; `seen` and `offline` are the agent's memory (saved by it)."""

    def __init__(
        self,
        device: str,
        secrets: Callable[[str], str],
        seen: dict[str, float],
        offline: dict[str, float],
    ) -> None:
        self.device = device
        self.secrets = secrets
        self.seen = seen
        self.offline = offline
        self._complained: str | None = None

    def verdict(self, target: Target, root: Path, commit: str) -> Verdict:
        from reconciler.fleet.roster import read_roster
        from reconciler.fleet.waves import Evidence, decide, offline_seen

        rollout = target.spec.spec.rollout
        assert rollout is not None
        now = time.time()
        first = self.seen.setdefault(commit, now)
        for old in sorted(self.seen, key=self.seen.__getitem__)[:-KEEP_SEEN]:
            del self.seen[old]
        retained = self._read(target)
        if retained is not None:
            fresh = offline_seen(retained.reports, self.offline, now)
            self.offline.clear()
            self.offline.update(fresh)
        evidence = Evidence(
            members=read_roster(root).members,
            reports=retained.reports if retained is not None else None,
            decisions=list(retained.decisions.values()) if retained is not None else [],
            now=now,
            first_seen=first,
            offline_since=dict(self.offline),
        )
        labels = dict(target.spec.metadata.labels)
        return decide(rollout, self.device, labels, commit, evidence)

    def _read(self, target: Target) -> Retained | None:
        """The retained messages, or None without a broker (or when it cannot be read)."""
        from reconciler.services.mqtt.settings import resolve

        cloud = target.spec.spec.cloud
        mqtt = cloud.mqtt if cloud is not None else None
        if mqtt is None or not mqtt.enabled:
            return None
        try:
            settings = resolve(mqtt, self.device, self.secrets)
            retained = read_fleet(broker_options(settings), settings.topic_prefix or "")
        except Exception as exc:  # no broker to ask: the schedule decides (never a failed pass)
            if str(exc) != self._complained:
                log.warning("rollout waves: the broker cannot be read (%s): on schedule", exc)
                self._complained = str(exc)
            return None
        self._complained = None
        return retained
