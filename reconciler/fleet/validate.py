"""`reconcile fleet validate`: every device rendered and validated, every problem in one run.

Repo-wide checks come on top of the per-device ones (see render.py): duplicate device
names, groups whose selector matches no device (a warning). A problem written in a group or
in fleet.yaml is reported once, with the devices it affects. Devices that share groups share
the work: fleet.yaml plus each set of groups is merged once, and what a device inherits
unchanged is validated once per set of groups and model (quickcheck.py). Large fleets are
checked by a pool of worker processes (one per CPU), forked with the models built.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.fleet.documents import FLEET_FILE, FleetRepo, device_files, load_repo
from reconciler.fleet.quickcheck import QuickChecker
from reconciler.fleet.render import Renderer
from reconciler.fleet.source import DirSource, FleetSource
from reconciler.loader import Problem, SpecError

PARALLEL_MIN_DEVICES = 400
"""Below this many devices a worker pool costs more than it saves."""


@dataclass(slots=True)
class DeviceResult:
    """What the report needs from one device: small, as it crosses process boundaries and
    a report of 100,000 devices holds one each (slots and tuples: about 400 bytes)."""

    rel: str
    file: str
    name: str | None
    name_pos: tuple[int, int]
    groups: tuple[str, ...]
    problems: tuple[Problem, ...]
    rendered: bool


@dataclass
class Report:
    """The outcome of validating a fleet root."""

    root: str
    devices: list[DeviceResult]
    groups: list[str]
    group_files: dict[str, str]
    fleet_file: str
    problems: list[Problem]
    """Every distinct problem, sorted; one located in a group lists its devices in `affected`."""
    affected: dict[Problem, list[str]] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def valid(self) -> bool:
        return not self.errors


def check_device(renderer: Renderer, rel: str, quick: QuickChecker | None = None) -> DeviceResult:
    """Render and validate one device, keeping only what the report needs.

    With `quick`, a device whose inherited areas are known valid is validated in its own
    areas only; any doubt and it is validated in full, as without.
    """
    rendered = renderer.render(rel, validate=False)
    if rendered.merged is not None and (quick is None or not quick.valid(rendered)):
        renderer.validate(rendered)
    name_pos = (1, 1)
    if rendered.merged is not None:
        chain = rendered.merged.provenance.get(("metadata", "name"))
        if chain:
            name_pos = (chain[-1].line, chain[-1].col)
    return DeviceResult(
        rel=rel,
        file=rendered.file,
        name=rendered.name,
        name_pos=name_pos,
        groups=tuple(g.name for g in rendered.groups),
        problems=tuple(rendered.problems),
        rendered=rendered.merged is not None,
    )


_WORKER: QuickChecker | None = None
"""A worker's checker: set before the pool forks (or by `_init_worker` where it spawns)."""


def _init_worker(root: str) -> None:
    """A forked worker has its checker already; a spawned one loads the repo itself."""
    global _WORKER
    if _WORKER is None:
        _WORKER = QuickChecker(Renderer(load_repo(DirSource(root))))


def _check_chunk(rels: list[str]) -> list[DeviceResult]:
    assert _WORKER is not None, "worker not initialised"
    return [check_device(_WORKER.renderer, rel, _WORKER) for rel in rels]


Progress = Callable[[int, int], None]
"""Told (devices checked, devices in all) as the check goes (a progress bar)."""


def _no_progress(done: int, total: int) -> None:
    """The default: nobody is watching."""


CHUNK_MAX = 250
"""Devices per task: small enough for a smooth progress bar and little in flight."""


def _check_all(
    repo: FleetRepo, rels: list[str], jobs: int, progress: Progress = _no_progress
) -> list[DeviceResult]:
    """Every device, in a pool of `jobs` processes when the fleet is large.

    The first device is checked here, so the models it needs are imported and built before
    the pool forks: workers start with them, and with this repo and checker, for free.
    """
    global _WORKER
    root = repo.source.root if isinstance(repo.source, DirSource) else None
    quick = QuickChecker(Renderer(repo))
    serial = jobs <= 1 or len(rels) < PARALLEL_MIN_DEVICES or root is None
    results: list[DeviceResult] = []
    for rel in rels if serial else rels[:1]:
        results.append(check_device(quick.renderer, rel, quick))
        progress(len(results), len(rels))
    if serial:
        return results
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    forks = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if forks else None)
    size = min(CHUNK_MAX, max(50, len(rels) // (jobs * 8)))
    chunks = [rels[i : i + size] for i in range(1, len(rels), size)]
    _WORKER = quick
    gc.freeze()  # the workers' collections then leave the parent's objects (and pages) alone
    try:
        with ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=context,
            initializer=_init_worker,
            initargs=(str(root),),
        ) as pool:
            for chunk in pool.map(_check_chunk, chunks):
                results.extend(chunk)
                progress(len(results), len(rels))
    finally:
        _WORKER = None
        gc.unfreeze()
    return results


def default_jobs() -> int:
    """One worker per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _distinct(
    results: list[DeviceResult], repo_problems: list[Problem]
) -> tuple[dict[Problem, None], dict[Problem, list[str]]]:
    """Each problem once; one written in a group or fleet.yaml lists the devices it hits."""
    problems: dict[Problem, None] = dict.fromkeys(repo_problems)
    seen_at: dict[tuple[str, int, int, str], Problem] = {p_key(p): p for p in problems}
    affected: dict[Problem, list[str]] = {}
    for result in results:
        for problem in result.problems:
            existing = seen_at.get(p_key(problem))
            if existing is None:
                seen_at[p_key(problem)] = problem
                problems[problem] = None
                existing = problem
            if problem.file != result.file:
                affected.setdefault(existing, []).append(result.name or result.rel)
    return problems, affected


def validate_source(
    source: FleetSource, jobs: int | None = None, progress: Progress = _no_progress
) -> Report:
    """Validate a fleet root from any source; never raises for problems in the repo."""
    repo = load_repo(source)
    rels, listing = device_files(source)
    results = _check_all(repo, rels, default_jobs() if jobs is None else jobs, progress)
    problems, affected = _distinct(results, [*repo.problems, *listing])

    first_by_name: dict[str, DeviceResult] = {}
    used: set[str] = set()
    for result in results:
        used.update(result.groups)
        if result.name is None:
            continue
        first = first_by_name.setdefault(result.name, result)
        if first is not result:
            line, col = result.name_pos
            problems[
                Problem(
                    result.file,
                    line,
                    col,
                    "metadata.name",
                    f"duplicate device name {result.name!r} (also in {first.file})",
                )
            ] = None
    for group in repo.groups:
        if group.name not in used and results:
            line, col = group.selector_pos
            selector = ", ".join(f"{k}: {v}" for k, v in group.selector.items())
            problems[
                Problem(
                    group.file,
                    line,
                    col,
                    "selector",
                    f"selector {{{selector}}} matches no device",
                    "warning",
                )
            ] = None
    if not rels and not listing:
        problems[Problem(source.display("devices"), 1, 1, "", "no device files", "warning")] = None
    for names in affected.values():
        names.sort()
    return Report(
        root=source.display(""),
        devices=results,
        groups=[g.name for g in repo.groups],
        group_files={g.file: g.name for g in repo.groups},
        fleet_file=source.display(FLEET_FILE),
        problems=sorted(problems),
        affected=affected,
    )


def p_key(problem: Problem) -> tuple[str, int, int, str]:
    """Problems at the same place with the same message are one (paths may differ)."""
    return (problem.file, problem.line, problem.col, problem.message)


def validate_fleet(
    root: str | Path, jobs: int | None = None, progress: Progress = _no_progress
) -> Report:
    """Validate the fleet root `root` on disk; SpecError only if it is not a directory."""
    path = Path(root)
    if not path.is_dir():
        what = "does not exist" if not path.exists() else "is not a directory"
        raise SpecError([Problem(str(path), 1, 1, "", f"fleet root {what}")])
    return validate_source(DirSource(path), jobs, progress)
