"""The main job as library calls: load a target spec, open a backend, plan, apply.

The CLI, the agent and the status endpoint all go through here, so they agree on what a
plan is and how an apply is recorded.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.drivers.portal.options import PortalOptions
    from reconciler.engine.applier import ApplyResult
    from reconciler.engine.change import Change, Plan
    from reconciler.engine.ports import DeviceBackend as Backend
    from reconciler.engine.store import Store
    from reconciler.engine.verified import NoMemo, VerifiedPasswords
    from reconciler.spec.device import DeviceSpec

from reconciler.areas import BACKENDS
from reconciler.errors import OperationError

__all__ = ["OperationError"]


STATE_DIR_ENV = "RECONCILER_STATE_DIR"


def default_state_dir() -> Path:
    """$RECONCILER_STATE_DIR, else /var/lib/reconciler as root, else the XDG state directory."""
    if os.environ.get(STATE_DIR_ENV):
        return Path(os.environ[STATE_DIR_ENV])
    if os.geteuid() == 0:
        return Path("/var/lib/reconciler")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "reconciler"


@dataclass(frozen=True)
class Target:
    """A device spec and where it came from (for history and status)."""

    spec: DeviceSpec
    source: str
    _memo: dict[str, dict[str, Any]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def name(self) -> str:
        return self.spec.metadata.name

    def desired(self) -> dict[str, Any]:
        """The managed state: only what the spec writes, as JSON-compatible data. Built
        once per Target (its plan and its apply read the same dict: never edit it)."""
        if "desired" not in self._memo:
            self._memo["desired"] = desired_state(self.spec)
        return self._memo["desired"]

    def document(self) -> dict[str, Any]:
        """The whole spec document as written (secret references, never values)."""
        data: dict[str, Any] = self.spec.model_dump(
            mode="json", by_alias=True, exclude_unset=True, exclude_none=True
        )
        return data

    def document_json(self) -> str:
        """`document()` as JSON text, serialised straight from the model (history keeps it)."""
        return self.spec.model_dump_json(by_alias=True, exclude_unset=True, exclude_none=True)


def desired_state(spec: DeviceSpec) -> dict[str, Any]:
    from reconciler.spec.device import NOT_DEVICE_STATE

    # Dumped through the root model: its serializer is built already, a nested model's
    # is not (spec models are built on first use, reconciler.spec.base).
    dumped = spec.model_dump(
        mode="json",
        by_alias=True,
        exclude_unset=True,
        exclude_none=True,
        include={"spec"},
        exclude={"spec": set(NOT_DEVICE_STATE)},
    )
    data: dict[str, Any] = dumped.get("spec", {})
    if spec.spec.files is not None:
        from reconciler.spec.files import desired_files

        data["files"] = desired_files(spec.spec.files)
    if spec.spec.operations is not None:
        from reconciler.spec.operations import desired_operations

        data["operations"] = desired_operations(spec.spec.operations)
    return data


def load_target(file: str | None, fleet: str | None, device: str | None) -> Target:
    """From `--file F` or `--fleet DIR --device N`; raises SpecError on invalid input."""
    if file:
        from reconciler.loader import load_device

        return Target(load_device(file), str(file))
    if fleet and device:
        from reconciler.fleet.render import load_fleet_device

        return Target(load_fleet_device(Path(fleet), device), f"{fleet}#{device}")
    raise OperationError("say which spec to use: --file FILE, or --fleet DIR --device NAME")


@dataclass(frozen=True)
class BackendRequest:
    """What opening a backend may need; each opener takes what its backend uses."""

    state_dir: Path
    model: str | None
    must_reach: tuple[str, ...] = ()
    portal: PortalOptions | None = None
    secrets: Callable[[str], str] | None = None
    root: str | None = None


def _open_sim(r: BackendRequest) -> Backend:
    from reconciler.drivers.sim.backend import SimBackend

    sim = SimBackend.open(r.state_dir, r.model)
    sim.must_reach = r.must_reach
    return sim


def _open_linux(r: BackendRequest) -> Backend:
    from reconciler.drivers.linux.backend import LinuxBackend
    from reconciler.drivers.linux.context import LinuxOptions

    options = LinuxOptions.load(r.state_dir)
    if r.must_reach:
        options = dataclasses.replace(options, must_reach=r.must_reach)
    if r.root is not None:
        return LinuxBackend.open_root(Path(r.root), r.state_dir, r.model, options)
    return LinuxBackend.open(r.state_dir, r.model, options=options)


def _open_portal(r: BackendRequest) -> Backend:
    if r.portal is None or r.secrets is None:
        raise OperationError("--backend portal needs --endpoint URL and --credentials NAME")
    from reconciler.drivers.portal.backend import PortalBackend

    return PortalBackend.open(r.portal, r.secrets, r.model)


OPENERS: dict[str, Callable[[BackendRequest], Backend]] = {
    "sim": _open_sim,
    "linux": _open_linux,
    "portal": _open_portal,
}
"""How each backend of the area registry (reconciler.areas.BACKENDS) is opened: adding a
backend is its opener here plus its name in the areas it implements."""


def open_backend(
    name: str,
    state_dir: Path,
    model: str | None,
    must_reach: tuple[str, ...] = (),
    portal: PortalOptions | None = None,
    secrets: Callable[[str], str] | None = None,
    root: str | None = None,
) -> Backend:
    """The backend by name; the sim one is created from `model`'s factory defaults.
    `must_reach` (host:port, from the spec's agent.mustReach) guards connectivity changes
    (the engine's safe apply): they are reverted if a target stops answering. The portal
    one needs `portal` (--endpoint, --credentials, ...) and `secrets` to resolve them.
    `root` (linux only): manage the tree under it, never the live host."""
    if root is not None and name != "linux":
        raise OperationError("--root DIR works with the linux backend only (--backend linux)")
    opener = OPENERS.get(name)
    if opener is None:
        raise OperationError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    return opener(BackendRequest(state_dir, model, must_reach, portal, secrets, root))


def target_backend(
    name: str,
    state_dir: Path,
    target: Target,
    portal: PortalOptions | None = None,
    secrets: Callable[[str], str] | None = None,
    root: str | None = None,
) -> Backend:
    """The backend for applying `target`: its model, its must-reach targets."""
    agent = target.spec.spec.agent
    must_reach = tuple(agent.must_reach or ()) if agent else ()
    model = target.spec.metadata.model
    return open_backend(name, state_dir, model, must_reach, portal, secrets, root)


def open_store(state_dir: Path) -> Store:
    import sqlite3

    from reconciler.engine.store import Store

    try:
        return Store(state_dir)
    except OSError as exc:
        raise OperationError(f"cannot use state directory {state_dir}: {exc.strerror}") from None
    except sqlite3.Error as exc:
        raise OperationError(f"cannot use the history in {state_dir}/history.db: {exc}") from None


def compute_plan(
    target: Target,
    backend: Backend,
    store: Store,
    secrets: Callable[[str], str],
    *,
    status_port: int | None = None,
) -> Plan:
    """Observe, diff and check for self-lockout (one engine call); changes an interrupted
    apply left behind that the device now reports are journaled as applied."""
    from reconciler.engine.ports import Focusing
    from reconciler.engine.store import LazyInventory, Store
    from reconciler.engine.verified import NoMemo, VerifiedPasswords

    desired = target.desired()
    inventory = LazyInventory(lambda: store.inventory(target.name))  # read if pruning
    if isinstance(backend, Focusing):
        backend.focus(desired, inventory)
    observed = backend.observe()
    passwords: VerifiedPasswords | NoMemo = NoMemo()
    if isinstance(store, Store):  # the status endpoint plans over a read-only history
        store.verify_interrupted(target.name, observed)
        passwords = VerifiedPasswords(store.state_dir)
    return plan_observed(target, backend, observed, inventory, secrets, status_port, passwords)


def plan_observed(
    target: Target,
    backend: Backend,
    observed: dict[str, Any],
    inventory: Collection[tuple[str, str]],
    secrets: Callable[[str], str],
    status_port: int | None = None,
    passwords: VerifiedPasswords | NoMemo | None = None,
) -> Plan:
    """The plan for `target` against an observation already made (the agentless fleet
    observes many devices at once); refused when the device itself rules the spec out."""
    from reconciler.engine.checked import checked_plan
    from reconciler.engine.verified import NoMemo, VerifiedPasswords

    desired = target.desired()
    problems = device_problems(backend, desired, observed)
    if problems:
        raise OperationError("; ".join(problems))
    passwords = passwords if passwords is not None else NoMemo()
    try:
        plan = checked_plan(
            target.name,
            backend.name,
            desired,
            observed,
            secrets=secrets,
            inventory=inventory,
            status_port=status_port,
            passwords=passwords,
        )
    except LookupError as exc:
        raise OperationError(str(exc.args[0])) from None
    if isinstance(passwords, VerifiedPasswords):
        passwords.save()
    return plan


def device_problems(backend: Any, desired: dict[str, Any], observed: dict[str, Any]) -> list[str]:
    """What the device says rules the spec out (an area it lacks, a value outside its own
    ranges), from backends that can tell (the portal one)."""
    check = getattr(backend, "plan_problems", None)
    return list(check(desired, observed)) if check is not None else []


def refusals_for(
    backend: Backend, changes: Sequence[Change], *, status_port: int | None = None
) -> tuple[str, ...]:
    """Self-lockout refusals for applying just `changes` (a part of a plan) now."""
    from reconciler.engine.checked import refusals

    return refusals(backend.observe(), changes, status_port=status_port) if changes else ()


@contextmanager
def locked(store: Store) -> Iterator[None]:
    """Hold the state-dir lock from observe to the last write; a second apply fails clearly."""
    from reconciler.engine.store import LockedError

    try:
        with store.lock():
            yield
    except LockedError as exc:
        raise OperationError(str(exc)) from None


def run_apply(
    target: Target,
    plan: Plan,
    backend: Backend,
    store: Store,
    secrets: Callable[[str], str],
    should_stop: Callable[[], bool] = lambda: False,
    hand_confirm: float | None = None,
) -> ApplyResult:
    """Apply a plan computed under `locked(store)`, journaled in the store."""
    from reconciler.engine.applier import apply_plan

    return apply_plan(
        plan,
        backend,
        store,
        desired=target.desired(),
        source=target.source,
        secrets=secrets,
        document=target.document_json(),
        should_stop=should_stop,
        hand_confirm=hand_confirm,
    )
