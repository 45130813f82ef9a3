"""Fleet test helpers: write small fleet repos from YAML text, run `reconcile fleet ...`.

A plain module, not a conftest.py: a second conftest module would shadow the top-level
one that other tests import from.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REFERENCE_FLEET = REPO / "fleet"

FLEET_YAML = """\
apiVersion: reconciler/v1
kind: Fleet
spec:
  system:
    timezone: UTC
    ntp: [pool.ntp.org]
  watchdog: {enabled: true, timeoutSeconds: 60}
"""


def group_yaml(name: str, selector: str, priority: int, spec: str) -> str:
    """A Group document; `spec` is the indented body under `spec:` (2 spaces)."""
    return (
        "apiVersion: reconciler/v1\n"
        "kind: Group\n"
        f"metadata: {{name: {name}}}\n"
        f"selector: {selector}\n"
        f"priority: {priority}\n"
        "spec:\n" + textwrap.indent(textwrap.dedent(spec), "  ")
    )


def device_yaml(name: str, labels: str, spec: str = "", model: str = "UNO-2484G") -> str:
    text = (
        "apiVersion: reconciler/v1\n"
        "kind: Device\n"
        "metadata:\n"
        f"  name: {name}\n"
        f"  model: {model}\n"
        f"  labels: {labels}\n"
    )
    if spec:
        text += "spec:\n" + textwrap.indent(textwrap.dedent(spec), "  ")
    return text


def write_fleet(
    root: Path,
    groups: dict[str, str] | None = None,
    devices: dict[str, str] | None = None,
    fleet: str = FLEET_YAML,
) -> Path:
    """A fleet root with fleet.yaml, groups/NAME.yaml and devices/NAME.yaml."""
    (root / "groups").mkdir(parents=True, exist_ok=True)
    (root / "devices").mkdir(parents=True, exist_ok=True)
    (root / "fleet.yaml").write_text(fleet)
    for name, text in (groups or {}).items():
        (root / "groups" / f"{name}.yaml").write_text(text)
    for name, text in (devices or {}).items():
        (root / "devices" / f"{name}.yaml").write_text(text)
    return root


@dataclass
class Result:
    code: int
    out: str
    err: str


def fleet_runner(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """`reconcile fleet ARGS...` in this process, through the real parser."""
    from reconciler.cli import main

    def run(*args: str | Path) -> Result:
        capsys.readouterr()
        code = main(["fleet", *(str(a) for a in args)])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
