"""The devices a fleet repo names, with their labels and groups: what the fleet commands
that read the broker join the reports with. Only device heads are read (no layering, no
validation), so it stays quick for a large fleet; a file whose head is broken is left out
and named, since `fleet validate` is where it gets its located error."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler.fleet.documents import DEVICES_DIR, DeviceHead, load_repo
from reconciler.fleet.source import DirSource
from reconciler.fsutil import atomic_write
from reconciler.loader import Problem, SpecError


@dataclass(frozen=True)
class Member:
    name: str
    labels: dict[str, str]
    groups: list[str]


@dataclass
class Roster:
    members: list[Member] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    """Device files whose head could not be read (`fleet validate` says why)."""

    def selected(self, selector: dict[str, str]) -> list[Member]:
        """Members carrying every label of `selector` (all of them for an empty one)."""
        return [m for m in self.members if all(m.labels.get(k) == v for k, v in selector.items())]


CACHE_VERSION = 1


def cache_file(root: Path) -> Path:
    """Per fleet root, in the user's cache directory (a cache: safe to delete)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return base / "reconciler" / "roster" / f"{key}.json"


def read_roster(root: str | Path) -> Roster:
    """Every device of the fleet root `root`, sorted by name. Heads are parsed with the C
    safe loader, without positions (a status view needs no locations), and remembered by
    file size, mtime and inode, so a fleet of 10,000 is parsed once, then only stat()ed."""
    path = Path(root)
    if not (path / "fleet.yaml").is_file() and not (path / DEVICES_DIR).is_dir():
        raise SpecError(
            [Problem(str(path), 1, 1, "", "not a fleet root (no fleet.yaml, no devices/)")]
        )
    repo = load_repo(DirSource(path))
    cache = _load_cache(cache_file(path))
    fresh: dict[str, list[Any]] = {}
    roster = Roster()
    parse = _head_parser()
    for entry in _device_entries(path / DEVICES_DIR):
        st = entry.stat(follow_symlinks=False)
        key = [st.st_size, st.st_mtime_ns, st.st_ino]
        hit = cache.get(entry.name)
        head = hit[3] if hit is not None and hit[:3] == key else parse(entry.path)
        fresh[entry.name] = [*key, head]
        if head is None:
            roster.unreadable.append(entry.path)
            continue
        name, labels = head
        roster.members.append(Member(name, labels, [g.name for g in repo.matching(labels)]))
    if fresh != cache:
        _save_cache(cache_file(path), fresh)
    roster.members.sort(key=lambda m: m.name)
    return roster


def _head_parser() -> Callable[[str], tuple[str, dict[str, str]] | None]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="safe", pure=False)

    def parse(file: str) -> tuple[str, dict[str, str]] | None:
        """(name, labels), or None when the head is broken (`fleet validate` says why)."""
        try:
            head = DeviceHead.model_validate(yaml.load(Path(file).read_bytes()))
        except (OSError, YAMLError, ValidationError):
            return None
        return head.metadata.name, dict(head.metadata.labels)

    return parse


def _device_entries(devices: Path) -> list[os.DirEntry[str]]:
    """Regular *.yaml/*.yml files of devices/ (no symlinks: they may point out of the repo)."""
    try:
        entries = list(os.scandir(devices))
    except FileNotFoundError:
        return []
    return sorted(
        (
            e
            for e in entries
            if e.name.endswith((".yaml", ".yml")) and e.is_file(follow_symlinks=False)
        ),
        key=lambda e: e.name,
    )


def _load_cache(file: Path) -> dict[str, list[Any]]:
    try:
        data = json.loads(file.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {}
    entries = data.get("entries")
    if not isinstance(entries, dict):
        return {}
    return {
        k: [*v[:3], (v[3][0], v[3][1]) if v[3] else None]
        for k, v in entries.items()
        if isinstance(v, list) and len(v) == 4
    }


def _save_cache(file: Path, entries: dict[str, list[Any]]) -> None:
    """Best effort: a read-only home only means parsing again next time."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"version": CACHE_VERSION, "entries": entries}).encode()
        atomic_write(file, data, mode=0o600)
    except OSError:
        pass


def newest_commit(root: str | Path) -> str | None:
    """HEAD of the git repository holding `root`; None when it is not in one."""
    import git

    try:
        return str(git.Repo(root, search_parent_directories=True).head.commit.hexsha)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return None
