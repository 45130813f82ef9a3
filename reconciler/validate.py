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
            "errors": self.error_count,
            "problems": [p.as_dict() for p in self.problems],
        }


def document_problems(doc: YamlDocument) -> list[Problem]:
    """Problems of one parsed document, by its `kind`."""
    kind = doc.data.get("kind")
    if kind == "Device":
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


def validate_paths(paths: Iterable[str | Path]) -> Report:
    report = Report()
    for path in iter_yaml_files(paths):
        report.files += 1
        try:
            doc = read_document(path)
        except SpecError as exc:
            report.problems.extend(exc.problems)
            continue
        report.problems.extend(document_problems(doc))
    return report
