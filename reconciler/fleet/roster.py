"""The devices a fleet repo names, with their labels and groups: what the fleet commands
that read the broker join the reports with. Only device heads are read (no layering, no
validation), so it stays quick for a large fleet; a file whose head is broken is left out
and named, since `fleet validate` is where it gets its located error."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from reconciler.fleet.documents import DeviceHead, device_files, load_repo, read_yaml
from reconciler.fleet.source import DirSource
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


def read_roster(root: str | Path) -> Roster:
    """Every device of the fleet root `root`, sorted by name."""
    path = Path(root)
    if not (path / "fleet.yaml").is_file() and not (path / "devices").is_dir():
        raise SpecError(
            [Problem(str(path), 1, 1, "", "not a fleet root (no fleet.yaml, no devices/)")]
        )
    source = DirSource(path)
    repo = load_repo(source)
    rels, _problems = device_files(source)
    roster = Roster()
    for rel in rels:
        try:
            head = DeviceHead.model_validate(read_yaml(source, rel).data)
        except (SpecError, ValidationError):
            roster.unreadable.append(source.display(rel))
            continue
        labels = dict(head.metadata.labels)
        groups = [g.name for g in repo.matching(labels)]
        roster.members.append(Member(head.metadata.name, labels, groups))
    roster.members.sort(key=lambda m: m.name)
    return roster


def newest_commit(root: str | Path) -> str | None:
    """HEAD of the git repository holding `root`; None when it is not in one."""
    import git

    try:
        return str(git.Repo(root, search_parent_directories=True).head.commit.hexsha)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return None
