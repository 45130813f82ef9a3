"""`reconcile fleet diff`: which devices' effective specs change between two revisions.

Both sides are rendered (layered, not validated: a reviewer wants the blast radius even of a
broken change, and the problems are listed alongside) and compared leaf by leaf. Devices are
matched by name; items of named lists by their `name`, so reordering them is no change.
When fleet.yaml and every group are identical on both sides, a device whose file is
identical is not rendered at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.fleet.documents import FLEET_FILE, GROUPS_DIR, device_files, load_repo, stem
from reconciler.fleet.merge import is_named_list, same
from reconciler.fleet.render import Renderer
from reconciler.fleet.source import DirSource, FleetSource, GitTreeSource
from reconciler.loader import Problem, SpecError


class EmptySource(FleetSource):
    """A revision in which the fleet root does not exist yet (or any more)."""

    def __init__(self, label: str) -> None:
        self.label = label

    def display(self, rel: str) -> str:
        return f"{self.label}:{rel}"

    def exists(self, rel: str) -> bool:
        return False

    def list_yaml(self, subdir: str) -> tuple[list[str], list[Problem]]:
        return [], []

    def read(self, rel: str) -> bytes:  # pragma: no cover - nothing is listed
        raise SpecError([Problem(self.display(rel), 1, 1, "", "no such file")])


@dataclass(frozen=True)
class Change:
    """One leaf of one device's effective document that differs."""

    path: str
    op: str
    """add | remove | change"""
    before: Any = None
    after: Any = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "op": self.op}
        if self.op != "add":
            out["before"] = self.before
        if self.op != "remove":
            out["after"] = self.after
        return out


@dataclass
class DeviceDiff:
    """One device whose effective document changes, and its group membership."""

    name: str
    status: str
    """added | removed | changed"""
    changes: list[Change] = field(default_factory=list)
    groups_before: list[str] = field(default_factory=list)
    groups_after: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "groups": {"before": self.groups_before, "after": self.groups_after},
            "changes": [c.as_dict() for c in self.changes],
        }


@dataclass
class Side:
    """One end of the comparison, for the report."""

    label: str
    commit: str | None
    devices: int = 0
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rev": self.label,
            "commit": self.commit,
            "devices": self.devices,
            "problems": [p.as_dict() for p in self.problems],
        }


@dataclass
class FleetDiff:
    """The blast radius: every device that changes between the two sides."""

    root: str
    before: Side
    after: Side
    devices: list[DeviceDiff]

    def as_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "from": self.before.as_dict(),
            "to": self.after.as_dict(),
            "changed": [d.as_dict() for d in self.devices],
            "summary": {
                status: sum(1 for d in self.devices if d.status == status)
                for status in ("added", "removed", "changed")
            },
        }


def _segment(key: Any) -> str:
    return str(key)


def _keyed(
    before: dict[Any, Any], after: dict[Any, Any], path: tuple[str, ...]
) -> Iterator[Change]:
    """Maps and named lists alike: removed, added, or compared key by key, in order."""
    for key in [*before, *(k for k in after if k not in before)]:
        sub = (*path, _segment(key))
        if key not in after:
            yield from _leaves("remove", before[key], sub)
        elif key not in before:
            yield from _leaves("add", after[key], sub)
        else:
            yield from changes(before[key], after[key], sub)


def changes(before: Any, after: Any, path: tuple[str, ...] = ()) -> Iterator[Change]:
    """Leaf-level differences; named-list items are addressed by name."""
    if isinstance(before, dict) and isinstance(after, dict):
        yield from _keyed(before, after, path)
        return
    if before and after and is_named_list(before) and is_named_list(after):
        old = {item["name"]: item for item in before}
        new = {item["name"]: item for item in after}
        yield from _keyed(old, new, path)
        return
    if not same(before, after):
        yield Change(".".join(path), "change", before, after)


def _leaves(op: str, value: Any, path: tuple[str, ...]) -> Iterator[Change]:
    """A whole added or removed subtree, as one change per leaf."""
    if isinstance(value, dict) and value:
        for key, child in value.items():
            yield from _leaves(op, child, (*path, _segment(key)))
        return
    if value and is_named_list(value):
        for item in value:
            yield from _leaves(op, item, (*path, _segment(item["name"])))
        return
    if op == "add":
        yield Change(".".join(path), op, None, value)
    else:
        yield Change(".".join(path), op, value, None)


@dataclass
class _Snapshot:
    """One side, loaded: groups and fleet once, devices on demand."""

    renderer: Renderer
    rels: dict[str, str]
    """device key (file stem) -> relative path"""
    problems: list[Problem]
    shared: dict[str, str | None]
    """fingerprints of fleet.yaml and the group files"""


def _snapshot(source: FleetSource) -> _Snapshot:
    repo = load_repo(source)
    rels, listing = device_files(source)
    groups, _ = source.list_yaml(GROUPS_DIR)
    shared = {rel: source.fingerprint(rel) for rel in [FLEET_FILE, *groups]}
    by_key = {stem(rel): rel for rel in rels}
    return _Snapshot(Renderer(repo), by_key, [*repo.problems, *listing], shared)


def diff_sources(
    before: FleetSource, after: FleetSource, before_side: Side, after_side: Side, root: str
) -> FleetDiff:
    """Render every device on both sides (skipping provably unchanged ones) and compare."""
    a, b = _snapshot(before), _snapshot(after)
    shared_same = a.shared == b.shared and None not in a.shared.values()
    rendered_a: dict[str, Any] = {}
    rendered_b: dict[str, Any] = {}
    problems_a, problems_b = list(a.problems), list(b.problems)
    for snap, out, problems, source, keys in (
        (a, rendered_a, problems_a, before, a.rels),
        (b, rendered_b, problems_b, after, b.rels),
    ):
        for key, rel in keys.items():
            other = b if snap is a else a
            other_rel = other.rels.get(key)
            if shared_same and other_rel is not None:
                other_src = after if snap is a else before
                fp = source.fingerprint(rel)
                if fp is not None and fp == other_src.fingerprint(other_rel):
                    continue
            device = snap.renderer.render(rel, validate=False)
            problems.extend(device.problems)
            out[key] = device
    diffs: list[DeviceDiff] = []
    for name in sorted(set(rendered_a) | set(rendered_b)):
        old, new = rendered_a.get(name), rendered_b.get(name)
        old_data = old.data if old is not None else None
        new_data = new.data if new is not None else None
        groups_a = [g.name for g in old.groups] if old is not None else []
        groups_b = [g.name for g in new.groups] if new is not None else []
        if old_data is None and new_data is None:
            continue
        if old_data is None and name not in a.rels:
            added = list(_leaves("add", new_data, ()))
            diffs.append(DeviceDiff(name, "added", added, [], groups_b))
        elif new_data is None and name not in b.rels:
            diffs.append(
                DeviceDiff(name, "removed", list(_leaves("remove", old_data, ())), groups_a, [])
            )
        else:
            found = list(changes(old_data or {}, new_data or {}))
            if found:
                diffs.append(DeviceDiff(name, "changed", found, groups_a, groups_b))
    before_side.devices, after_side.devices = len(a.rels), len(b.rels)
    before_side.problems = sorted(set(problems_a))
    after_side.problems = sorted(set(problems_b))
    return FleetDiff(root, before_side, after_side, diffs)


def _git_side(repo: Any, rev: str, prefix: str) -> tuple[FleetSource, Side]:
    """The fleet root at a revision (empty if the root did not exist then)."""
    try:
        commit = repo.commit(rev)
    except Exception:
        raise SpecError(
            [Problem("<command line>", 1, 1, "", f"unknown revision {rev!r} in this repository")]
        ) from None
    tree = commit.tree
    side = Side(rev, commit.hexsha)
    if prefix:
        try:
            obj = tree / prefix
        except KeyError:
            return EmptySource(rev), side
        if obj.type != "tree":
            return EmptySource(rev), side
    return GitTreeSource(tree, prefix, rev), side


def _open_git(path: Path) -> tuple[Any, str]:
    """The git repository holding the fleet root `path`, and the root's path inside it."""
    try:
        import git
    except ImportError:  # pragma: no cover - a declared dependency
        raise SpecError(
            [Problem("<command line>", 1, 1, "", "GitPython is not installed")]
        ) from None
    if not path.is_dir():
        raise SpecError([Problem(str(path), 1, 1, "", "fleet root is not a directory")])
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise SpecError(
            [Problem(str(path), 1, 1, "", "fleet root is not inside a git repository")]
        ) from None
    top = Path(repo.working_tree_dir or "").resolve()
    prefix = Path(os.path.relpath(path.resolve(), top)).as_posix()
    return repo, "" if prefix == "." else prefix


@contextmanager
def source_at(root: str | Path, rev: str | None) -> Iterator[tuple[FleetSource, str | None]]:
    """The fleet root as of `rev` (None: the work tree) and that revision's commit, readable
    while the context is open."""
    if rev is None:
        yield DirSource(root), None
        return
    repo, prefix = _open_git(Path(root))
    try:
        source, side = _git_side(repo, rev, prefix)
        yield source, side.commit
    finally:
        repo.close()


def diff_revisions(root: str | Path, rev1: str, rev2: str | None) -> FleetDiff:
    """Compare the fleet root `root` at `rev1` with `rev2` (None: the work tree)."""
    path = Path(root)
    repo, prefix = _open_git(path)
    try:
        before, before_side = _git_side(repo, rev1, prefix)
        if rev2 is None:
            after: FleetSource = DirSource(path)
            after_side = Side("work tree", None)
        else:
            after, after_side = _git_side(repo, rev2, prefix)
        return diff_sources(before, after, before_side, after_side, str(path))
    finally:
        repo.close()
