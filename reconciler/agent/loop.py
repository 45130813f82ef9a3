"""The reconcile loop: level-based, one pass at a time, status recorded on every exit path.

A pass: fetch the source -> choose the revision to enforce (the newest, unless it is
rejected, invalid or failed: then the last known-good spec) -> plan against the device ->
split the plan by policy (auto/report, per area) and maintenance window (reboot and
disruptive changes wait) -> apply -> health checks (roll back to the last good spec if they
fail within the window). Transient errors back off exponentially with jitter; a revision
that fails twice is not retried until a new revision or `reconcile agent --retry`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from reconciler.agent.sources import Source, SourceError
from reconciler.agent.status import iso, write_status
from reconciler.agent.trust import TrustPolicy, verify_commit
from reconciler.areas import SERVICE_AREAS
from reconciler.errors import OperationError
from reconciler.fsutil import atomic_write
from reconciler.loader import SpecError

if TYPE_CHECKING:
    from reconciler.engine.change import Change, Plan
    from reconciler.operations import Target

log = logging.getLogger("reconciler.agent")

MAX_FAILURES = 2
BACKOFF_BASE, BACKOFF_CAP = 1.0, 300.0
RISKS_GATED = ("reboot", "disruptive")
SUSPEND_FILE = "suspended"
AGENT_FILE = "agent.json"


@dataclass
class AgentConfig:
    source: Source
    state_dir: Path
    device: str
    backend: str = "sim"
    secrets_dir: Path | None = None
    interval: float = 60.0
    drift_interval: float = 300.0
    trust: TrustPolicy = field(default_factory=TrustPolicy)
    status_port: int | None = None
    retry: bool = False


@dataclass
class Memory:
    """What the agent keeps between passes and restarts (agent.json in the state dir)."""

    device: str = ""
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_good_revision: str | None = None
    last_good_document: dict[str, Any] | None = None
    last_applied_revision: str | None = None
    unverified: str | None = None
    """A revision applied whose health checks have not passed yet (survives a restart)."""

    @classmethod
    def load(cls, path: Path) -> Memory:
        try:
            data = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return cls()
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def save(self, path: Path) -> None:
        atomic_write(path, json.dumps(dataclasses.asdict(self), indent=1).encode(), mode=0o600)


class AgentListener(Protocol):
    """A service the agent runs beside the loop (status endpoint, Modbus, MQTT uplink)."""

    def on_spec(self, target: Target, backend: Any) -> None:
        """The spec enforced this pass and the backend it runs on (reconfigure if needed)."""

    def on_status(self, status: dict[str, Any]) -> None:
        """The status document, after every pass and when an apply starts."""

    def on_event(self, kind: str, data: dict[str, Any]) -> None:
        """apply.started, apply.result, apply.rolledBack, commit.rejected."""

    def stop(self) -> None: ...


class Agent:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.listeners: list[AgentListener] = []
        self.stop = threading.Event()
        self.changed = threading.Event()
        self.memory = Memory.load(config.state_dir / AGENT_FILE)
        self.memory.device = config.device
        if config.retry:
            self.memory.failed.clear()
        self.failures_in_row = 0
        self.wake_at: float | None = None
        self.status: dict[str, Any] = {
            "device": config.device,
            "source": {"url": config.source.description},
            "syncState": "Progressing",
            "conditions": [],
            "drift": [],
            "waiting": [],
            "rejected": None,
            "lastPlan": None,
        }
        from reconciler.secrets import SecretResolver

        self.secrets = SecretResolver(config.secrets_dir)

    # -- status --------------------------------------------------------------------

    def condition(self, kind: str, ok: bool, reason: str, message: str = "") -> None:
        status = "True" if ok else "False"
        conditions: list[dict[str, Any]] = self.status["conditions"]
        for cond in conditions:
            if cond["type"] == kind:
                if cond["status"] != status:
                    cond["lastTransitionTime"] = iso()
                cond.update(status=status, reason=reason, message=message)
                return
        conditions.append(
            {
                "type": kind,
                "status": status,
                "reason": reason,
                "message": message,
                "lastTransitionTime": iso(),
            }
        )

    def save(self) -> None:
        self.memory.save(self.config.state_dir / AGENT_FILE)
        self.publish_status()

    def publish_status(self) -> None:
        write_status(self.config.state_dir, self.status)
        for listener in self.listeners:
            self._notify(listener.on_status, dict(self.status))

    def emit(self, kind: str, **data: Any) -> None:
        for listener in self.listeners:
            self._notify(listener.on_event, kind, {"device": self.config.device, **data})

    @staticmethod
    def _notify(hook: Any, *args: Any) -> None:
        """A failing service must never break the reconcile loop: one line, then go on."""
        try:
            hook(*args)
        except Exception as exc:
            owner = type(getattr(hook, "__self__", hook)).__name__
            log.warning("%s: %s", owner, exc)
            log.debug("details", exc_info=True)

    def request_sync(self) -> None:
        """Fetch and reconcile now (an MQTT sync trigger); nothing is applied from it."""
        self.changed.set()

    # -- the loop ------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        def handle(signum: int, _frame: Any) -> None:
            log.info("signal %s: finishing the pass in flight, then exiting", signum)
            self.stop.set()
            self.changed.set()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)

    def run(self, once: bool = False) -> None:
        watcher = threading.Thread(target=self._watch, name="source-watch", daemon=True)
        watcher.start()
        next_fetch = next_drift = 0.0
        while not self.stop.is_set():
            now = time.monotonic()
            self.changed.clear()
            self.run_pass()
            if once:
                break
            next_fetch = now + self._jittered(self.config.interval)
            next_drift = now + self.config.drift_interval
            if self.failures_in_row:
                backoff = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (self.failures_in_row - 1))
                next_fetch = min(next_fetch, now + self._jittered(backoff))
            deadline = min(next_fetch, next_drift)
            if self.wake_at is not None:
                deadline = min(deadline, self.wake_at)
            self.changed.wait(max(0.0, deadline - time.monotonic()))
        self.stop.set()
        for listener in self.listeners:
            self._notify(listener.stop)

    def _watch(self) -> None:
        try:
            self.config.source.watch(self.changed, self.stop)
        except Exception as exc:  # the interval fetch still runs
            log.warning("watching %s failed: %s", self.config.source.description, exc)

    @staticmethod
    def _jittered(seconds: float) -> float:
        return seconds * random.uniform(0.8, 1.2)

    def run_pass(self) -> None:
        """One level-based pass; the status is written whatever happens."""
        self.wake_at = None
        try:
            self._pass()
        except SourceError as exc:
            self.failures_in_row += 1
            self.condition("SourceAvailable", False, "FetchFailed", str(exc))
            self.status["syncState"] = (
                "Failed" if self.memory.last_good_revision is None else (self.status["syncState"])
            )
        except (OperationError, SpecError) as exc:
            self.failures_in_row += 1
            self.condition("Ready", False, "Error", str(exc))
            self.status["syncState"] = "Failed"
        finally:
            self.save()

    # -- one pass ------------------------------------------------------------------

    def _pass(self) -> None:
        source = self.config.source
        revision = source.fetch()
        self.failures_in_row = 0
        self.status.update(lastFetchedCommit=revision, lastFetchedAt=iso())
        self.condition("SourceAvailable", True, "Fetched", f"fetched {revision}")
        target, problem = self._choose(revision)
        if target is None:
            self.status["syncState"] = self._failure_state(revision)
            self.condition("Ready", False, problem[0], problem[1])
            return
        enforced, enforced_revision = target
        self._reconcile(enforced, enforced_revision, newest=revision, problem=problem)

    def _choose(self, revision: str) -> tuple[tuple[Target, str] | None, tuple[str, str]]:
        """(target to enforce and its revision, (reason, message) if the newest is not it)."""
        failed = self.memory.failed.get(revision)
        if failed and (failed.get("terminal") or failed["count"] >= MAX_FAILURES):
            return self._last_good(), (failed["reason"], failed["error"])
        try:
            root = self.config.source.checkout(revision)
            if self.config.trust.enabled and not revision.startswith("dir:"):
                from reconciler.agent.sources import GitSource

                repo = (
                    root
                    if not isinstance(self.config.source, GitSource)
                    else (self.config.source.clone_dir)
                )
                rejection = verify_commit(repo, revision, self.config.trust)
                if rejection:
                    self._reject(revision, "SignatureRejected", rejection)
                    self.condition("SignatureVerified", False, "SignatureRejected", rejection)
                    return self._last_good(), ("SignatureRejected", rejection)
                self.condition("SignatureVerified", True, "Verified", revision)
            from reconciler.fleet.render import load_fleet_device
            from reconciler.operations import Target

            spec = load_fleet_device(root, self.config.device)
        except SpecError as exc:
            message = "; ".join(str(p) for p in exc.problems)
            self._reject(revision, "InvalidSpec", message)
            self.condition("SpecValid", False, "InvalidSpec", message)
            return self._last_good(), ("InvalidSpec", message)
        self.condition("SpecValid", True, "Valid", revision)
        return (Target(spec, revision), revision), ("", "")

    def _reject(self, revision: str, reason: str, error: str) -> None:
        """A revision that can never be applied as it is (invalid, untrusted)."""
        if revision not in self.memory.failed:
            from reconciler.operations import open_store

            store = open_store(self.config.state_dir)
            store.record_event(self.config.device, self.config.backend, revision, "rejected", error)
            store.close()
        self.memory.failed[revision] = {
            "count": MAX_FAILURES,
            "terminal": True,
            "reason": reason,
            "error": error,
        }
        self.status["rejected"] = {"commit": revision, "reason": reason, "message": error}
        self.emit("commit.rejected", commit=revision, reason=reason, message=error)

    def _last_good(self) -> tuple[Target, str] | None:
        """The last spec that applied and passed its health checks, with its revision."""
        revision, document = self.memory.last_good_revision, self.memory.last_good_document
        if revision is None or document is None:
            return None
        from pydantic import ValidationError

        from reconciler.operations import Target
        from reconciler.spec.device import DeviceSpec

        try:
            return Target(DeviceSpec.model_validate(document), revision), revision
        except ValidationError:
            log.warning("the last good spec (%s) no longer validates; not using it", revision)
            return None

    # -- plan, gate, apply, check ----------------------------------------------------

    @contextmanager
    def _device(self, target: Target) -> Iterator[tuple[Any, Any]]:
        """The backend and store for `target`, under the state-dir lock."""
        from reconciler import operations as ops

        cfg = self.config
        backend = ops.target_backend(cfg.backend, cfg.state_dir, target)
        store = ops.open_store(cfg.state_dir)
        try:
            with ops.locked(store):
                yield backend, store
        finally:
            store.close()

    def _reconcile(
        self, target: Target, revision: str, *, newest: str, problem: tuple[str, str]
    ) -> None:
        from reconciler import operations as ops

        with self._device(target) as (backend, store):
            plan = ops.compute_plan(
                target, backend, store, self.secrets, status_port=self.config.status_port
            )
            self.status["lastPlan"] = {"commit": revision, "summary": plan.summary, "at": iso()}
            if revision == self.memory.last_applied_revision:
                self.status["drift"] = [
                    {"path": c.dotted, "op": c.op, "risk": c.risk} for c in plan.changes
                ]
            now_apply, waiting, reported = self._split(plan, target)
            self.status["waiting"] = waiting
            # Lockout is judged on what will be applied now, not on the whole plan.
            refusals = ops.refusals_for(backend, now_apply, status_port=self.config.status_port)
            if refusals:
                reason = "; ".join(refusals)
                self._count_failure(revision, "LockoutRefused", reason, terminal=True)
                self.status["syncState"] = "Failed"
                self.condition("Ready", False, "LockoutRefused", reason)
                return
            if self._suspended():
                self.status["syncState"] = "Suspended"
                self.condition("Ready", False, "Suspended", "applies are suspended")
                return
            # Not suspended, not refused: the services follow this spec from here on (before
            # the apply, so its events reach the uplink).
            self._services_follow(target, backend, waiting, reported)
            if now_apply:
                self.status["syncState"] = "Progressing"
                self.publish_status()
                subplan = _subplan(plan, now_apply)
                self.emit("apply.started", commit=revision, summary=subplan.summary)
                result = ops.run_apply(
                    target, subplan, backend, store, self.secrets, self.stop.is_set
                )
                self.emit(
                    "apply.result",
                    commit=revision,
                    status=result.status,
                    applied=result.applied,
                    error=result.error,
                    applyId=result.apply_id,
                )
                if result.status == "interrupted":  # SIGTERM at a safe point: not a failure
                    self.condition("Ready", False, "Interrupted", result.error or "")
                    return
                if result.status != "applied":
                    self._count_failure(revision, "ApplyFailed", result.error or "")
                    self.condition("Ready", False, "ApplyFailed", result.error or "")
                    failed = self.memory.failed.get(revision, {})
                    stalled = failed.get("count", 0) >= MAX_FAILURES
                    self.status["syncState"] = "Stalled" if stalled else "Failed"
                    self.failures_in_row += 0 if stalled else 1
                    return
                self.status.update(lastAppliedCommit=revision, lastAppliedAt=iso())
                self.memory.last_applied_revision = revision
                if revision != self.memory.last_good_revision:
                    self.memory.unverified = revision  # saved now: a crash must not skip checks
                    self.memory.save(self.config.state_dir / AGENT_FILE)
        if self.memory.unverified == revision:
            healthy = self._healthy(target)
            if healthy is None:  # stopping: the checks run again on the next start
                return
            if not healthy:
                self._roll_back(revision)
                return
            self.memory.unverified = None
        if revision == newest and not waiting:
            self._mark_good(revision, target)
        pending = bool(waiting or reported)
        self.status["syncState"] = "OutOfSync" if pending else "Synced"
        if problem[0]:
            self.status["syncState"] = self._failure_state(newest)
            self.condition("Ready", False, problem[0], problem[1])
        else:
            self.status["rejected"] = None
            self.condition("Ready", not pending, "Synced" if not pending else "Pending", revision)

    def _services_follow(
        self, target: Target, backend: Any, waiting: list[dict[str, Any]], reported: list[Change]
    ) -> None:
        """The agent's services (Modbus, MQTT, status endpoint) take a spec only once it is
        enforced: not while their own area still waits for a window or is report-only."""
        pending = {w["path"].split(".")[0] for w in waiting} | {c.area for c in reported}
        if pending & SERVICE_AREAS:
            return
        for listener in self.listeners:
            self._notify(listener.on_spec, target, backend)

    def _split(
        self, plan: Plan, target: Target
    ) -> tuple[list[Change], list[dict[str, Any]], list[Change]]:
        """Changes to apply now, changes waiting for the maintenance window, report-only."""
        agent = target.spec.spec.agent
        policy = (agent.policy if agent else None) or "auto"
        per_area = (agent.area_policy if agent else None) or {}
        window = _window_state(target)
        now_apply: list[Change] = []
        waiting: list[dict[str, Any]] = []
        reported: list[Change] = []
        for change in plan.changes:
            if per_area.get(change.area, policy) == "report":
                reported.append(change)
            elif change.risk in RISKS_GATED and window is not None and not window[0]:
                until = window[1]
                waiting.append(
                    {"path": change.dotted, "risk": change.risk, "until": until.isoformat()}
                )
                self.wake_at = time.monotonic() + max(1.0, until.timestamp() - time.time() + 0.5)
            else:
                now_apply.append(change)
        return now_apply, waiting, reported

    def _healthy(self, target: Target) -> bool | None:
        """True/False once decided; None when the agent is stopping (checked next start)."""
        from reconciler.agent.health import run_checks

        agent = target.spec.spec.agent
        checks = (agent.health_checks if agent else None) or []
        window = agent.health_window_seconds if agent else 60
        deadline = time.monotonic() + window
        while True:
            results = run_checks(checks, self.config.source.reachable)
            failing = [r for r in results if not r.ok]
            if not failing:
                self.condition("Healthy", True, "ChecksPassed", f"{len(results)} check(s) passed")
                return True
            if self.stop.is_set():
                return None
            if time.monotonic() >= deadline:
                message = "; ".join(f"{r.name}: {r.detail}" for r in failing)
                self.condition("Healthy", False, "HealthCheckFailed", message)
                return False
            self.stop.wait(1.0)

    def _roll_back(self, revision: str) -> None:
        from reconciler import operations as ops

        message = next(c["message"] for c in self.status["conditions"] if c["type"] == "Healthy")
        self._count_failure(revision, "HealthCheckFailed", message, terminal=True)
        good = self._last_good()
        self.status["syncState"] = "Failed"
        if good is None:
            self.condition("Ready", False, "HealthCheckFailed", f"{message}; no known-good spec")
            return
        target, good_revision = good
        rollback = ops.Target(target.spec, f"rollback to {good_revision}")
        self.memory.unverified = None
        with self._device(rollback) as (backend, store):
            plan = ops.compute_plan(rollback, backend, store, self.secrets)
            result = ops.run_apply(rollback, plan, backend, store, self.secrets)
        self._services_follow(rollback, backend, [], [])
        outcome = (
            "rolled back" if result.status == "applied" else f"rollback failed: {result.error}"
        )
        self.memory.last_applied_revision = good_revision
        self.status.update(lastAppliedCommit=good_revision, lastAppliedAt=iso())
        summary = f"health checks failed ({message}); {outcome} to {good_revision}"
        self.memory.failed[revision].update(reason="RolledBack", error=summary)
        self.condition("Ready", False, "RolledBack", summary)
        self.emit("apply.rolledBack", commit=revision, to=good_revision, reason=summary)

    def _mark_good(self, revision: str, target: Target) -> None:
        self.memory.last_good_revision = revision
        self.memory.last_good_document = target.document()

    def _count_failure(
        self, revision: str, reason: str, error: str, terminal: bool = False
    ) -> None:
        entry = self.memory.failed.setdefault(
            revision, {"count": 0, "terminal": False, "reason": reason, "error": error}
        )
        entry["count"] += 1
        entry.update(reason=reason, error=error, terminal=terminal or entry["terminal"])

    def _failure_state(self, revision: str) -> str:
        """Stalled: failed twice the same way, waiting for a new commit or --retry. Failed:
        a revision that can never apply as it is (invalid, untrusted, unhealthy)."""
        failed = self.memory.failed.get(revision, {})
        return "Failed" if failed.get("terminal", True) else "Stalled"

    def _suspended(self) -> bool:
        return (self.config.state_dir / SUSPEND_FILE).exists()


def _subplan(plan: Plan, keep: list[Change]) -> Plan:
    ids = {id(c) for c in keep}
    pairs = [(c, p) for c, p in zip(plan.changes, plan.patch, strict=True) if id(c) in ids]
    return dataclasses.replace(
        plan, changes=tuple(c for c, _ in pairs), patch=tuple(p for _, p in pairs)
    )


def _window_state(target: Target) -> tuple[bool, Any] | None:
    """None when the spec defines no maintenance window."""
    update = target.spec.spec.update
    window = update.maintenance_window if update else None
    if window is None:
        return None
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from reconciler.agent.window import window_open

    tz_name = (target.spec.spec.system.timezone if target.spec.spec.system else None) or "UTC"
    return window_open(window.cron, window.duration_minutes, datetime.now(ZoneInfo(tz_name)))
