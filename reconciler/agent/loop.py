"""The reconcile loop: level-based, one pass at a time, the status written once per pass.

A pass is a row of small steps, each returning None (go on) or the Outcome that ends the
pass: fetch the source -> verify the newest revision (signature, no rewind of the applied
history, the repo checks `fleet validate` runs) -> render it (else fall back to the last
known-good spec) -> plan against the device -> gates (rollout waves, which may hold the
newest commit and re-plan the last good one; maintenance window, lockout, suspension; more
can be added to `Agent.gates`) -> apply -> health checks (roll back to the
last good spec if they fail within the window). Transient errors back off exponentially
with jitter; a revision that fails twice is not retried until a new revision or
`reconcile agent --retry`; an unexpected error in a pass is a Failed status and a backoff,
never the end of the agent.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from reconciler.agent.sources import Source, SourceError
from reconciler.agent.trust import TrustPolicy, verify_commit
from reconciler.errors import OperationError
from reconciler.fsutil import atomic_write
from reconciler.loader import SpecError
from reconciler.stopsignals import on_signals
from reconciler.syncstatus import (
    Drift,
    LastPlan,
    Rejected,
    SyncState,
    SyncStatus,
    Waiting,
    iso,
    load_status,
    write_status,
)
from reconciler.syncstatus import Source as StatusSource

if TYPE_CHECKING:
    from reconciler.engine.applier import ApplyResult
    from reconciler.engine.change import Change, Plan
    from reconciler.operations import Target
    from reconciler.spec.agent import ConfirmSpec

log = logging.getLogger("reconciler.agent")

MAX_FAILURES = 2
BACKOFF_BASE, BACKOFF_CAP = 1.0, 300.0
RISKS_GATED = ("reboot", "disruptive")
SUSPEND_FILE = "suspended"
AGENT_FILE = "agent.json"
REWOUND = "HistoryRewound"
REPORTING_AREAS = frozenset({"cloud"})
"""Services of these areas (the uplink) report the status; they may follow a held spec."""


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
    portal: Any = None
    """PortalOptions of `--backend portal` (reconciler.drivers.portal.options)."""
    allow_non_fast_forward: bool = False
    stop_timeout: float = 10.0


@dataclass
class Memory:
    """What the agent keeps between passes and restarts (agent.json in the state dir)."""

    device: str = ""
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_good_revision: str | None = None
    last_good_document: dict[str, Any] | None = None
    last_applied_revision: str | None = None
    last_applied_at: str | None = None
    unverified: str | None = None
    """A revision applied whose health checks have not passed yet (survives a restart)."""
    rollout_seen: dict[str, float] = field(default_factory=dict)
    """When each new commit was first seen (the rollout waves' `after:` counts from it)."""
    offline_seen: dict[str, float] = field(default_factory=dict)
    """When the rollout waves first saw each offline device so (its will has no time)."""

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

    areas: frozenset[str]
    """The spec areas it runs: it takes no spec while a change to one of them waits."""

    def on_spec(self, target: Target, backend: Any) -> None:
        """The spec enforced this pass and the backend it runs on (reconfigure if needed)."""

    def on_status(self, status: dict[str, Any]) -> None:
        """The status document, after every pass and when an apply starts."""

    def on_event(self, kind: str, data: dict[str, Any]) -> None:
        """apply.started, apply.result, apply.rolledBack, commit.rejected."""

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Outcome:
    """How a pass ended: its sync state and, when `reason` is set, the Ready condition."""

    state: SyncState
    reason: str = ""
    message: str = ""
    ready: bool = False


@dataclass
class PassRun:
    """What the steps of one pass found out, in order."""

    started: float = field(default_factory=time.monotonic)
    newest: str = ""
    root: Path | None = None
    revision: str = ""
    """The revision enforced: the newest, or the last good one when the newest is refused."""
    target: Target | None = None
    problem: tuple[str, str] = ("", "")
    backend: Any = None
    store: Any = None
    plan: Plan | None = None
    now_apply: list[Change] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)
    held: list[Waiting] = field(default_factory=list)
    """The newest commit held by the rollout waves (the last good one is enforced)."""
    reported: list[Change] = field(default_factory=list)
    result: ApplyResult | None = None


Step = Callable[[PassRun], Outcome | None]


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
        self.status = self._initial_status()
        self.last_outcome: Outcome | None = None
        self._logged: tuple[str, str, str] | None = None
        self._repo_checked: str | None = None
        self.gates: list[Step] = [
            self._gate_waves,
            self._gate_window,
            self._gate_lockout,
            self._gate_suspended,
        ]
        """Checks between plan and apply; each may end the pass."""
        from reconciler.agent.rollout import RolloutGate
        from reconciler.secrets import SecretResolver

        self.secrets = SecretResolver(config.secrets_dir)
        self.waves = RolloutGate(
            config.device, self.secrets, self.memory.rollout_seen, self.memory.offline_seen
        )

    def _initial_status(self) -> SyncStatus:
        """The last recorded status, carrying the commit being enforced from the memory (so
        a restart shows it at once, before any apply)."""
        previous = load_status(self.config.state_dir)
        status = previous or SyncStatus(sync_state="Progressing")
        status.device = self.config.device
        status.source = StatusSource(url=self.config.source.description)
        status.last_applied_commit = self.memory.last_applied_revision
        status.last_applied_at = self.memory.last_applied_at or status.last_applied_at
        return status

    # -- status and listeners --------------------------------------------------------

    def publish_status(self) -> None:
        write_status(self.config.state_dir, self.status)
        document = self.status.to_dict()
        for listener in self.listeners:
            self._notify(listener.on_status, dict(document))

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
        """SIGTERM and SIGINT end the pass in flight, then the agent; handled on a thread of
        their own, so a signal never deadlocks on a lock the main thread holds."""
        stopping = threading.Lock()

        def handle(signum: int) -> None:
            log.info("signal %s: finishing the pass in flight, then exiting", signum)
            self.stop.set()
            self.changed.set()
            if stopping.acquire(blocking=False):
                self._exit_by_deadline()

        on_signals((signal.SIGTERM, signal.SIGINT), handle)

    def _exit_by_deadline(self) -> None:
        """Whatever a service is doing, the process ends within `stop_timeout` seconds (the
        last word goes straight to stderr: a stuck thread may hold the logging lock)."""

        def guard() -> None:
            time.sleep(self.config.stop_timeout)
            note = f"not stopped within {self.config.stop_timeout:.0f} s: exiting anyway\n"
            os.write(2, f"ERROR reconciler.agent: {note}".encode())
            os._exit(1)

        threading.Thread(target=guard, name="stop-deadline", daemon=True).start()

    def run(self, once: bool = False) -> None:
        watcher = threading.Thread(target=self._watch, name="source-watch", daemon=True)
        watcher.start()
        self._start_services()
        while not self.stop.is_set():
            now = time.monotonic()
            self.changed.clear()
            self.run_pass()
            if once:
                break
            self.changed.wait(max(0.0, self._next_deadline(now) - time.monotonic()))
        self.stop.set()
        for listener in self.listeners:
            self._notify(listener.stop)

    def _start_services(self) -> None:
        """At once, before the first pass: the status as recorded (with the commit being
        enforced) and the services of the last good spec."""
        self.publish_status()
        good = self._last_good()
        if good is None:
            return
        from reconciler import operations as ops

        try:
            backend = ops.target_backend(self.config.backend, self.config.state_dir, good[0])
        except OperationError as exc:
            log.warning("services wait for the first pass: %s", exc)
            return
        for listener in self.listeners:
            self._notify(listener.on_spec, good[0], backend)

    def _next_deadline(self, started: float) -> float:
        deadline = started + min(self._jittered(self.config.interval), self.config.drift_interval)
        if self.failures_in_row:
            backoff = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (self.failures_in_row - 1))
            deadline = min(deadline, started + self._jittered(backoff))
        if self.wake_at is not None:
            deadline = min(deadline, self.wake_at)
        return deadline

    def _watch(self) -> None:
        try:
            self.config.source.watch(self.changed, self.stop)
        except Exception as exc:  # the interval fetch still runs
            log.warning("watching %s failed: %s", self.config.source.description, exc)

    @staticmethod
    def _jittered(seconds: float) -> float:
        return seconds * random.uniform(0.8, 1.2)

    def run_pass(self) -> Outcome:
        """One level-based pass; the status is written once, whatever happens."""
        self.wake_at = None
        run = PassRun()
        try:
            outcome = self._steps(run)
        except SourceError as exc:
            self.failures_in_row += 1
            self.status.condition("SourceAvailable", False, "FetchFailed", str(exc))
            keep = self.status.sync_state if self.memory.last_good_revision else "Failed"
            outcome = Outcome(keep)
        except (OperationError, SpecError) as exc:
            self.failures_in_row += 1
            outcome = Outcome("Failed", "Error", str(exc))
        except Exception as exc:  # a bug in a pass: reported, backed off, never fatal
            self.failures_in_row += 1
            log.error("pass failed unexpectedly: %s: %s", type(exc).__name__, exc)
            log.debug("details", exc_info=True)
            outcome = Outcome("Failed", "InternalError", f"{type(exc).__name__}: {exc}")
        self._finish(run, outcome)
        return outcome

    def _finish(self, run: PassRun, outcome: Outcome) -> None:
        self.status.sync_state = outcome.state
        if outcome.reason:
            self.status.condition("Ready", outcome.ready, outcome.reason, outcome.message)
        self.last_outcome = outcome
        self.memory.save(self.config.state_dir / AGENT_FILE)
        self.publish_status()
        self._log_pass(run, outcome)

    def _log_pass(self, run: PassRun, outcome: Outcome) -> None:
        """One line for a pass that did something: applied, or ended differently."""
        key = (run.revision or run.newest, outcome.state, outcome.reason)
        if run.result is None and key == self._logged:
            return
        self._logged = key
        s = run.plan.summary if run.plan is not None else None
        planned = (
            f"{s.get('add', 0)} to add, {s.get('change', 0)} to change, "
            f"{s.get('remove', 0)} to remove"
            if s is not None
            else "no plan"
        )
        log.info(
            "pass: commit %s: %s%s -> %s%s (%.2f s)",
            (run.revision or run.newest or "-")[:12],
            planned,
            f"; apply {run.result.status}" if run.result is not None else "",
            outcome.state,
            f" {outcome.reason}: {outcome.message}" if outcome.reason else "",
            time.monotonic() - run.started,
        )

    # -- the steps -------------------------------------------------------------------

    def _steps(self, run: PassRun) -> Outcome:
        outcome = _first(run, (self._fetch, self._verify, self._render))
        if outcome is not None:
            return outcome
        assert run.target is not None
        with self._device(run.target) as (run.backend, run.store):
            outcome = _first(run, (self._plan, *self.gates, self._apply))
        return outcome or _first(run, (self._health,)) or self._settle(run)

    def _fetch(self, run: PassRun) -> Outcome | None:
        run.newest = self.config.source.fetch()
        self.failures_in_row = 0
        self.status.last_fetched_commit, self.status.last_fetched_at = run.newest, iso()
        self.status.condition("SourceAvailable", True, "Fetched", f"fetched {run.newest}")
        return None

    def _verify(self, run: PassRun) -> Outcome | None:
        """Refuse what can never be applied as it is: untrusted, a rewind, what CI rejects."""
        revision = run.newest
        failed = self.memory.failed.get(revision)
        if failed and (failed.get("terminal") or failed["count"] >= MAX_FAILURES):
            return self._fall_back(run, failed["reason"], failed["error"])
        run.root = self.config.source.checkout(revision)
        checks = (
            ("SignatureVerified", self._untrusted),
            ("HistoryLinear", self._rewound),
            ("SpecValid", self._repo_problems),
        )
        for condition, check in checks:
            refused = check(run.root, revision)
            if refused is not None:
                self._reject(revision, *refused)
                self.status.condition(condition, False, *refused)
                return self._fall_back(run, *refused)
        return None

    def _untrusted(self, root: Path, revision: str) -> tuple[str, str] | None:
        if not self.config.trust.enabled or self.config.source.repository is None:
            return None
        rejection = verify_commit(self.config.source.repository, revision, self.config.trust)
        if rejection:
            return "SignatureRejected", rejection
        self.status.condition("SignatureVerified", True, "Verified", revision)
        return None

    def _rewound(self, root: Path, revision: str) -> tuple[str, str] | None:
        """A fetched commit must descend from the last applied one: never an ancestor (a
        rewind), a non-descendant only with --allow-non-fast-forward."""
        applied = self.memory.last_applied_revision
        relation = self.config.source.relation(applied, revision) if applied else "descendant"
        if relation in ("same", "descendant", "unordered"):
            return None
        if relation == "unrelated" and self.config.allow_non_fast_forward:
            log.warning("%s does not descend from %s: allowed", revision[:12], applied)
            return None
        what = "is an ancestor of" if relation == "ancestor" else "does not descend from"
        message = (
            f"commit {revision} {what} the last applied commit {applied}: refused "
            "(roll back with a new commit, or `reconcile rollback` on the device)"
        )
        return REWOUND, message

    def _repo_problems(self, root: Path, revision: str) -> tuple[str, str] | None:
        """The checks `fleet validate` (CI) runs over the whole repo: what CI rejects, no
        device applies."""
        from reconciler.fleet.validate import validate_fleet

        if revision == self._repo_checked:  # the whole repo once per revision, not per pass
            return None
        report = validate_fleet(root, jobs=1)
        if report.valid:
            self._repo_checked = revision
            return None
        return "InvalidSpec", "; ".join(str(p) for p in report.errors)

    def _render(self, run: PassRun) -> Outcome | None:
        if run.target is not None:  # falling back to the last good spec
            return None
        from reconciler.fleet.render import load_fleet_device
        from reconciler.operations import Target

        assert run.root is not None
        try:
            spec = load_fleet_device(run.root, self.config.device)
        except SpecError as exc:
            message = "; ".join(str(p) for p in exc.problems)
            self._reject(run.newest, "InvalidSpec", message)
            self.status.condition("SpecValid", False, "InvalidSpec", message)
            return self._fall_back(run, "InvalidSpec", message)
        self.status.condition("SpecValid", True, "Valid", run.newest)
        run.target, run.revision = Target(spec, run.newest), run.newest
        return None

    def _fall_back(self, run: PassRun, reason: str, message: str) -> Outcome | None:
        """The newest is refused: enforce the last good spec, or end the pass if none."""
        run.problem = (reason, message)
        good = self._last_good()
        if good is None:
            return Outcome(self._failure_state(run.newest), reason, message)
        run.target, run.revision = good
        return None

    def _plan(self, run: PassRun) -> Outcome | None:
        from reconciler import operations as ops

        assert run.target is not None
        run.plan = ops.compute_plan(
            run.target, run.backend, run.store, self.secrets, status_port=self.config.status_port
        )
        self.status.last_plan = LastPlan(commit=run.revision, summary=run.plan.summary, at=iso())
        if run.revision == self.memory.last_applied_revision:
            self.status.drift = [
                Drift(path=c.dotted, op=c.op, risk=c.risk) for c in run.plan.changes
            ]
        return None

    def _gate_waves(self, run: PassRun) -> Outcome | None:
        """A new commit waits for the earlier rollout waves (or the fleet's pause): the
        last good spec stays enforced meanwhile, and the status says why."""
        assert run.target is not None
        if (
            run.target.spec.spec.rollout is None
            or run.root is None
            or run.revision != run.newest
            or run.revision in (self.memory.last_applied_revision, self.memory.last_good_revision)
        ):
            return None
        verdict = self.waves.verdict(run.target, run.root, run.revision)
        if verdict.allow:
            return None
        until = iso(verdict.until) if verdict.until is not None else None
        run.held = [Waiting(path="rollout", risk="wave", until=until, reason=verdict.reason)]
        self.status.waiting = list(run.held)
        if verdict.until is not None:
            self.wake_at = time.monotonic() + max(1.0, verdict.until - time.time() + 0.5)
        good = self._last_good()
        if good is None:  # nothing enforced yet: the services that report say why it waits
            for listener in self.listeners:
                if listener.areas <= REPORTING_AREAS:
                    self._notify(listener.on_spec, run.target, run.backend)
            return Outcome("OutOfSync", "Waiting", verdict.reason)
        run.target, run.revision = good
        return self._plan(run)

    def _gate_window(self, run: PassRun) -> Outcome | None:
        """Changes to apply now, changes waiting for the maintenance window, report-only."""
        assert run.target is not None and run.plan is not None
        agent = run.target.spec.spec.agent
        policy = (agent.policy if agent else None) or "auto"
        per_area = (agent.area_policy if agent else None) or {}
        window = _window_state(run.target)
        for change in run.plan.changes:
            if per_area.get(change.area, policy) == "report":
                run.reported.append(change)
            elif _window_gated(change) and window is not None and not window[0]:
                until = window[1]
                run.waiting.append(
                    Waiting(path=change.dotted, risk=change.risk, until=until.isoformat())
                )
                self.wake_at = time.monotonic() + max(1.0, until.timestamp() - time.time() + 0.5)
            else:
                run.now_apply.append(change)
        self.status.waiting = [*run.held, *run.waiting]
        return None

    def _gate_lockout(self, run: PassRun) -> Outcome | None:
        """Lockout is judged on what will be applied now, not on the whole plan."""
        from reconciler import operations as ops

        refusals = ops.refusals_for(run.backend, run.now_apply, status_port=self.config.status_port)
        if not refusals:
            return None
        reason = "; ".join(refusals)
        self._count_failure(run.revision, "LockoutRefused", reason, terminal=True)
        return Outcome("Failed", "LockoutRefused", reason)

    def _gate_suspended(self, run: PassRun) -> Outcome | None:
        if (self.config.state_dir / SUSPEND_FILE).exists():
            return Outcome("Suspended", "Suspended", "applies are suspended")
        return None

    def _apply(self, run: PassRun) -> Outcome | None:
        from reconciler import operations as ops

        assert run.target is not None and run.plan is not None
        # Past the gates: the services follow this spec from here on (before the apply,
        # so its events reach the uplink).
        self._services_follow(run.target, run.backend, run.waiting, run.reported)
        if not run.now_apply:
            return None
        self.status.sync_state = "Progressing"
        self.publish_status()  # the mark an apply started; the pass's status comes at its end
        subplan = _subplan(run.plan, run.now_apply)
        self.emit("apply.started", commit=run.revision, summary=subplan.summary)
        agent = run.target.spec.spec.agent
        confirm = agent.confirm if agent is not None else None
        before = (self.memory.last_applied_revision, self.memory.last_applied_at)
        result = ops.run_apply(
            run.target,
            subplan,
            run.backend,
            run.store,
            self.secrets,
            self.stop.is_set,
            hand_confirm=confirm.within if confirm is not None else None,
        )
        run.result = result
        self._operations_ran(run.revision, run.backend, subplan)
        self.emit(
            "apply.result",
            commit=run.revision,
            status=result.status,
            applied=result.applied,
            error=result.error,
            applyId=result.apply_id,
        )
        outcome = self._applied(run.revision, result)
        if outcome is None and confirm is not None:
            return self._await_confirm(run.revision, result.apply_id, confirm, before)
        return outcome

    def _pending_confirm(self, apply_id: int) -> list[dict[str, Any]]:
        """The areas of apply `apply_id` whose revert guard waits for a confirmation."""
        from reconciler.engine.safe import awaiting

        return [e for e in awaiting(self.config.state_dir) if e["applyId"] == apply_id]

    def _await_confirm(
        self,
        revision: str,
        apply_id: int,
        confirm: ConfirmSpec,
        before: tuple[str | None, str | None],
    ) -> Outcome | None:
        """agent.confirm: the apply's connectivity changes stay only once operators get in
        over the new path (a fresh ssh login, an authenticated status request) within the
        window; otherwise the engine's guard restores them and the commit counts as failed."""
        from reconciler.confirmation import evidence
        from reconciler.engine.safe import confirm_by_hand

        state = self.config.state_dir
        pending = self._pending_confirm(apply_id)
        if not pending:
            return None
        areas = ", ".join(sorted({e["area"] for e in pending}))
        since = min(e["deadline"] for e in pending) - confirm.within
        deadline = max(e["deadline"] for e in pending)
        how = " or ".join("an ssh login" if v == "ssh" else "a status request" for v in confirm.via)
        self.status.condition("Confirmed", False, "Waiting", f"{areas}: {how} within the window")
        self.publish_status()
        while time.time() < deadline and not self.stop.is_set():
            found = evidence(state, confirm.via, since)
            if found:
                confirm_by_hand(state)
                self.status.condition("Confirmed", True, "Confirmed", f"{areas} kept: {found}")
                return None
            self.stop.wait(0.5)
        if self.stop.is_set():
            note = "stopped before a confirmation: the guard reverts unless `reconcile confirm`"
            return Outcome("Progressing", "Interrupted", note)
        return self._not_confirmed(revision, apply_id, areas, confirm, before)

    def _not_confirmed(
        self,
        revision: str,
        apply_id: int,
        areas: str,
        confirm: ConfirmSpec,
        before: tuple[str | None, str | None],
    ) -> Outcome:
        """Nobody confirmed: wait for the guard's revert, then count the commit as failed."""
        state, deadline = self.config.state_dir, time.monotonic() + 60
        while self._pending_confirm(apply_id):
            if time.monotonic() > deadline or self.stop.wait(0.5):
                break
        self.memory.last_applied_revision, self.memory.last_applied_at = before
        self.status.last_applied_commit, self.status.last_applied_at = before
        self.memory.unverified = None
        message = f"{areas} reverted: not confirmed within {confirm.within} s (history #{apply_id})"
        self._count_failure(revision, "NotConfirmed", message)
        stalled = self.memory.failed[revision]["count"] >= MAX_FAILURES
        self.failures_in_row += 0 if stalled else 1
        self.memory.save(state / AGENT_FILE)
        self.status.condition("Confirmed", False, "NotConfirmed", message)
        return Outcome("Stalled" if stalled else "Failed", "NotConfirmed", message)

    def _operations_ran(self, revision: str, backend: Any, plan: Plan) -> None:
        """The one-shot operations `plan` ran: into the status and an event each."""
        from reconciler.engine.change import Item
        from reconciler.syncstatus import OperationRun

        names = {
            c.path[1].name
            for c in plan.changes
            if c.area == "operations" and len(c.path) == 2 and isinstance(c.path[1], Item)
        }
        if not names:
            return
        try:
            record = backend.driver("operations").observe() or []
        except Exception as exc:  # the apply's own result already says what failed
            log.warning("cannot read the operations the device ran: %s", exc)
            return
        for entry in record:
            if entry.get("name") in names:
                run = OperationRun.model_validate(entry)
                self.status.operations = [
                    *(o for o in self.status.operations if o.name != run.name),
                    run,
                ][-20:]
                self.emit("operation.result", commit=revision, **run.model_dump(mode="json"))

    def _applied(self, revision: str, result: ApplyResult) -> Outcome | None:
        if result.status == "interrupted":  # SIGTERM at a safe point: not a failure
            return Outcome("Progressing", "Interrupted", result.error or "")
        if result.status == "deferred":  # an update lock is held: a later pass retries
            return Outcome("OutOfSync", "Deferred", result.error or "")
        if result.status != "applied":
            self._count_failure(revision, "ApplyFailed", result.error or "")
            stalled = self.memory.failed[revision]["count"] >= MAX_FAILURES
            self.failures_in_row += 0 if stalled else 1
            return Outcome("Stalled" if stalled else "Failed", "ApplyFailed", result.error or "")
        self._record_applied(revision)
        if revision != self.memory.last_good_revision:
            self.memory.unverified = revision  # saved now: a crash must not skip the checks
        self.memory.save(self.config.state_dir / AGENT_FILE)
        return None

    def _record_applied(self, revision: str) -> None:
        """The commit being enforced, in the memory (kept across restarts) and the status."""
        self.memory.last_applied_revision, self.memory.last_applied_at = revision, iso()
        self.status.last_applied_commit = revision
        self.status.last_applied_at = self.memory.last_applied_at

    def _health(self, run: PassRun) -> Outcome | None:
        if self.memory.unverified != run.revision:
            return None
        assert run.target is not None
        healthy = self._healthy(run.target)
        if healthy is None:  # stopping: the checks run again on the next start
            return Outcome(self.status.sync_state)
        if not healthy:
            return self._roll_back(run.revision)
        self.memory.unverified = None
        return None

    def _settle(self, run: PassRun) -> Outcome:
        """The enforced spec is in place (but for what waits or is report-only)."""
        assert run.target is not None
        if run.revision == run.newest and not run.waiting:
            self._mark_good(run.revision, run.target)
        pending = bool(run.waiting or run.reported)
        if run.problem[0]:
            return Outcome(self._failure_state(run.newest), *run.problem)
        if run.held:
            return Outcome("OutOfSync", "Waiting", run.held[0].reason or "")
        self.status.rejected = None
        reason = "Pending" if pending else "Synced"
        return Outcome("OutOfSync" if pending else "Synced", reason, run.revision, not pending)

    # -- helpers -------------------------------------------------------------------

    def _reject(self, revision: str, reason: str, error: str) -> None:
        """A revision that can never be applied as it is (invalid, untrusted, a rewind)."""
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
        self.status.rejected = Rejected(commit=revision, reason=reason, message=error)
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

    @contextmanager
    def _device(self, target: Target) -> Iterator[tuple[Any, Any]]:
        """The backend and store for `target`, under the state-dir lock."""
        from reconciler import operations as ops

        cfg = self.config
        backend = ops.target_backend(cfg.backend, cfg.state_dir, target, cfg.portal, self.secrets)
        store = ops.open_store(cfg.state_dir)
        try:
            with ops.locked(store):
                yield backend, store
        finally:
            store.close()

    def _services_follow(
        self, target: Target, backend: Any, waiting: Sequence[Waiting], reported: list[Change]
    ) -> None:
        """A service takes a spec only once it is enforced: not while a change to its own
        area still waits for a window or is report-only."""
        pending = {w.path.split(".")[0] for w in waiting} | {c.area for c in reported}
        for listener in self.listeners:
            if not pending & listener.areas:
                self._notify(listener.on_spec, target, backend)

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
                passed = f"{len(results)} check(s) passed"
                self.status.condition("Healthy", True, "ChecksPassed", passed)
                return True
            if self.stop.is_set():
                return None
            if time.monotonic() >= deadline:
                message = "; ".join(f"{r.name}: {r.detail}" for r in failing)
                self.status.condition("Healthy", False, "HealthCheckFailed", message)
                return False
            self.stop.wait(1.0)

    def _roll_back(self, revision: str) -> Outcome:
        from reconciler import operations as ops

        message = self.status.condition_message("Healthy")
        self._count_failure(revision, "HealthCheckFailed", message, terminal=True)
        good = self._last_good()
        if good is None:
            return Outcome("Failed", "HealthCheckFailed", f"{message}; no known-good spec")
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
        self._record_applied(good_revision)
        summary = f"health checks failed ({message}); {outcome} to {good_revision}"
        self.memory.failed[revision].update(reason="RolledBack", error=summary)
        self.emit("apply.rolledBack", commit=revision, to=good_revision, reason=summary)
        return Outcome("Failed", "RolledBack", summary)

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

    def _failure_state(self, revision: str) -> SyncState:
        """Stalled: failed twice the same way, waiting for a new commit or --retry. Failed:
        a revision that can never apply as it is (invalid, untrusted, unhealthy)."""
        failed = self.memory.failed.get(revision, {})
        return "Failed" if failed.get("terminal", True) else "Stalled"


def _window_gated(change: Change) -> bool:
    """Waits for the maintenance window: a one-shot item (an operation) says so itself
    (`window`), any other change by its risk (reboot, disruptive)."""
    from reconciler.areas import ONE_SHOT_AREAS

    if change.area in ONE_SHOT_AREAS and isinstance(change.after, dict):
        return bool(change.after.get("window"))
    return change.risk in RISKS_GATED


def _first(run: PassRun, steps: Sequence[Step]) -> Outcome | None:
    """Run `steps` in order until one ends the pass."""
    for step in steps:
        outcome = step(run)
        if outcome is not None:
            return outcome
    return None


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
