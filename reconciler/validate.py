"""`reconcile validate`: every problem of every file, located, in one run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.loader import Problem, SpecError, YamlDocument, iter_yaml_files, read_document


@dataclass
class Report:
    files: int = 0
    problems: list[Problem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return sum(1 for p in self.problems if p.severity == "error")

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.ok,
            "files": self.files,
            "skipped": self.skipped,
            "errors": self.error_count,
            "problems": [p.as_dict() for p in self.problems],
        }


def document_problems(doc: YamlDocument) -> list[Problem]:
    """Problems of one parsed document, by its `kind`."""
    kind = doc.data.get("kind")
    if kind == "Device":
        from reconciler.fleet.render import fleet_root_of

        root = fleet_root_of(doc.file)
        if root is not None:
            return _fleet_device_problems(root, Path(doc.file).stem)
        from reconciler.loader import validate_device_document

        return validate_device_document(doc)[1]
    if kind in ("Fleet", "Group"):
        from reconciler.fleet.documents import layer_problems

        return layer_problems(doc)
    if kind is None:
        return [
            doc.problem(
                ("kind",), "required field is missing (Device, Fleet or Group)", at_key=True
            )
        ]
    return [doc.problem(("kind",), f"unknown kind {kind!r}; expected Device, Fleet or Group")]


def _fleet_device_problems(root: Path, name: str) -> list[Problem]:
    """A device file inside a fleet is a fragment: validate what it renders to."""
    from reconciler.fleet.render import render_fleet_device

    try:
        return render_fleet_device(root, name).problems
    except SpecError as exc:
        return list(exc.problems)


NOT_A_MAPPING = "expected a mapping at top level"


def _is_spec(doc: YamlDocument) -> bool:
    """Found while walking a directory: only documents that say they are ours count."""
    return "apiVersion" in doc.data or "kind" in doc.data


def validate_paths(paths: Iterable[str | Path]) -> Report:
    """Files named are always checked; in directories, YAML that is not a spec (a CI
    workflow, a pre-commit config) is skipped and counted."""
    report = Report()
    named = {Path(p) for p in paths if not Path(p).is_dir()}
    for path in iter_yaml_files(paths):
        explicit = path in named
        try:
            doc = read_document(path)
        except SpecError as exc:
            if not explicit and all(p.message.startswith(NOT_A_MAPPING) for p in exc.problems):
                report.skipped.append(str(path))
                continue
            report.files += 1
            report.problems.extend(exc.problems)
            continue
        if not explicit and not _is_spec(doc):
            report.skipped.append(str(path))
            continue
        report.files += 1
        report.problems.extend(sorted(document_problems(doc)))
    return report


def state_change_problems(model: str, area: str, before: Any, after: Any) -> list[str]:
    """What one area of a device's state could not hold after a change (for `sim set`):
    the problems the spec's checks find in the new value and not in the old one (the
    observed state has the spec's shape, so the spec says what a `model` can hold)."""
    from reconciler.loader import validate_device_document

    def found(value: Any) -> set[str]:
        doc = YamlDocument(
            "<device>",
            {
                "apiVersion": "reconciler/v1",
                "kind": "Device",
                "metadata": {"name": "device", "model": model},
                "spec": {area: value},
            },
        )
        problems = validate_device_document(doc)[1]
        return {f"{p.path.removeprefix('spec.')}: {p.message}" for p in problems}

    return sorted(found(after) - (found(before) if before is not None else set()))
