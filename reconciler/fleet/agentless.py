"""Agentless fleet runs: `reconcile plan|apply --fleet DIR --all` reconciles every selected
device whose file carries `metadata.connection`, from this host, many at once.

Plans observe every unit concurrently on one event loop (httpx's async client, the same
session logic as the single-device backend); applies run in a bounded pool of threads
through the ordinary locked, journaled apply. Each device has its own state directory
(STATE/devices/NAME: history, lock), and one unreachable device only fails itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from reconciler.errors import OperationError
from reconciler.loader import Problem, SpecError
from reconciler.operations import Target

Result = Literal["converged", "changes", "applied", "failed"]


@dataclass
class DeviceRun:
    device: str
    changes: int | None = None
    result: Result = "failed"
    seconds: float = 0.0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "changes": self.changes,
            "result": self.result,
            "seconds": round(self.seconds, 3),
            "error": self.error,
        }


def parse_selector(items: list[str] | None) -> dict[str, str]:
    """`k=v` pairs (repeatable) -> labels every selected device must carry."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise OperationError(f"--selector {item!r}: write it as key=value")
        out[key] = value
    return out


def select_targets(root: Path, selector: dict[str, str]) -> list[Target]:
    """Every device of the fleet matching `selector` that has a connection; SpecError
    with every problem if the repo or any selected device is invalid (nothing runs)."""
    from reconciler.fleet.documents import device_files
    from reconciler.fleet.render import Renderer, open_repo

    repo = open_repo(root)
    problems = [p for p in repo.problems if p.severity == "error"]
    rels, found = device_files(repo.source)
    problems += [p for p in found if p.severity == "error"]
    renderer, targets = Renderer(repo), []
    for rel in rels:
        rendered = renderer.render(rel)
        if not all(rendered.labels.get(k) == v for k, v in selector.items()):
            continue
        errors = [p for p in rendered.problems if p.severity == "error"]
        if errors or rendered.spec is None:
            problems += errors or [Problem(rendered.file, 1, 1, "", "device did not render")]
        elif rendered.spec.metadata.connection is not None:
            targets.append(Target(rendered.spec, f"{root}#{rendered.spec.metadata.name}"))
    if problems:
        raise SpecError(problems)
    return targets


def portal_options(target: Target) -> Any:
    from reconciler.drivers.portal.options import PortalOptions

    conn = target.spec.metadata.connection
    assert conn is not None
    return PortalOptions(
        conn.url, conn.credentials.secret_ref, conn.account, insecure=conn.insecure
    )


@dataclass
class FleetRun:
    """One `--all` run: where state goes, how secrets resolve, how many at once."""

    state_dir: Path
    secrets: Callable[[str], str]
    concurrency: int = 20
    force: bool = False
    on_done: Callable[[DeviceRun], None] = lambda run: None

    def device_dir(self, target: Target) -> Path:
        return self.state_dir / "devices" / target.name

    def inventory(self, target: Target) -> Any:
        """What earlier applies created on the device; a plan of a device never applied
        from here creates no state for it."""
        from reconciler import operations as ops

        if not (self.device_dir(target) / "history.db").exists():
            return ()
        store = ops.open_store(self.device_dir(target))
        try:
            return store.inventory(target.name)
        finally:
            store.close()

    async def plan_one(self, target: Target) -> DeviceRun:
        """Observe over the async client, then the ordinary pure plan."""
        from reconciler import operations as ops
        from reconciler.drivers.portal.backend import PortalBackend, observe_config
        from reconciler.drivers.portal.session import run_async

        run = DeviceRun(target.name)
        backend = PortalBackend.open(
            portal_options(target), self.secrets, target.spec.metadata.model
        )
        async with backend.async_client() as client:
            observed = await run_async(client, observe_config(backend.session))
        plan = ops.plan_observed(target, backend, observed, self.inventory(target), self.secrets)
        run.changes = len(plan.changes)
        if plan.refusals and not self.force:
            raise OperationError(f"refusing this plan: {plan.refusals[0]}")
        run.result = "changes" if plan.changes else "converged"
        return run

    def apply_one(self, target: Target) -> DeviceRun:
        """Locked observe, plan and journaled apply of one device (runs in a thread)."""
        from reconciler import operations as ops
        from reconciler.drivers.portal.backend import PortalBackend

        run = DeviceRun(target.name)
        store = ops.open_store(self.device_dir(target))
        model = target.spec.metadata.model
        backend = PortalBackend.open(portal_options(target), self.secrets, model)
        try:
            with ops.locked(store):
                plan = ops.compute_plan(target, backend, store, self.secrets)
                run.changes = len(plan.changes)
                if plan.refusals and not self.force:
                    raise OperationError(f"refusing this plan: {plan.refusals[0]}")
                if not plan.changes:
                    run.result = "converged"
                    return run
                result = ops.run_apply(target, plan, backend, store, self.secrets)
        finally:
            backend.close()
            store.close()
        if result.status != "applied":
            raise OperationError(f"stopped after {result.applied} change(s): {result.error}")
        run.result = "applied"
        return run

    async def _guarded(self, target: Target, work: Callable[[], Any]) -> DeviceRun:
        start = time.monotonic()
        try:
            run: DeviceRun = await work()
        except (OperationError, SpecError) as exc:
            message = str(exc) if isinstance(exc, OperationError) else str(exc.problems[0])
            run = DeviceRun(target.name, error=message)
        except Exception as exc:  # one device's surprise never stops the others
            run = DeviceRun(target.name, error=f"unexpected {type(exc).__name__}: {exc}")
        run.seconds = time.monotonic() - start
        self.on_done(run)
        return run

    async def run(self, targets: list[Target], apply: bool) -> list[DeviceRun]:
        gate = asyncio.Semaphore(self.concurrency)
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:

            async def one(target: Target) -> DeviceRun:
                async with gate:
                    if apply:
                        return await self._guarded(
                            target, lambda: loop.run_in_executor(pool, self.apply_one, target)
                        )
                    return await self._guarded(target, lambda: self.plan_one(target))

            return list(await asyncio.gather(*(one(t) for t in targets)))


def exit_code(runs: list[DeviceRun]) -> int:
    """0 all converged (or applied), 2 changes planned, 1 any failed."""
    if any(r.result == "failed" for r in runs):
        return 1
    return 2 if any(r.result == "changes" for r in runs) else 0


def summary(runs: list[DeviceRun]) -> dict[str, int]:
    out = {"converged": 0, "changes": 0, "applied": 0, "failed": 0}
    for r in runs:
        out[r.result] += 1
    return out


def table(runs: list[DeviceRun]) -> str:
    """The per-device result table (device, changes, result, seconds), errors below it."""
    width = max([len("DEVICE"), *(len(r.device) for r in runs)])
    lines = [f"{'DEVICE':<{width}}  CHANGES  RESULT     SECONDS"]
    for r in runs:
        changes = "-" if r.changes is None else str(r.changes)
        lines.append(f"{r.device:<{width}}  {changes:>7}  {r.result:<9}  {r.seconds:7.2f}")
    counts = summary(runs)
    shown = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    lines.append(f"\n{len(runs)} device(s): {shown or 'none selected'}.")
    lines += [f"{r.device}: {r.error}" for r in runs if r.error]
    return "\n".join(lines) + "\n"
