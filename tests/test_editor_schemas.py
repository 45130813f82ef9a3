"""Editors and third-party validators see what `validate` sees: every reconciler YAML file
in the repo names, in its `$schema` modeline, the schema for what it is (a full device, a
fleet device override, a group fragment, the fleet defaults), check-jsonschema accepts each
file against that schema, and schema and `validate` agree on what a boolean is."""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from testkit import REPO, reconcile_cmd, subprocess_env

CHECK_JSONSCHEMA = REPO / ".venv" / "bin" / "check-jsonschema"
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.M)
KIND = re.compile(r"^kind: (\w+)$", re.M)
THIRD_PARTY = {
    "examples/ci/github-actions-fleet.yml": "vendor.github-workflows",
    "examples/ci/pre-commit-config.yaml": None,  # pre-commit reads it: test_pre_commit.py
    "examples/monitoring/prometheus.yml": None,  # promtool checks it: api/test_metrics.py
    ".pre-commit-hooks.yaml": None,  # pre-commit try-repo runs it: test_pre_commit.py
    "scripts/coverage-map.yaml": None,  # coverage_table.py checks it: test_coverage_table.py
}
"""YAML files that are not reconciler documents, with the builtin schema that checks them."""


def _yaml_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.yaml", "*.yml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    # The corpus is invalid on purpose: each file is one error `validate` must locate.
    return sorted(f for f in out if not f.startswith("tests/corpus/") and (REPO / f).exists())


def _expected_schema(rel: str, kind: str) -> str:
    if kind == "Fleet":
        return "fleet.schema.json"
    if kind == "Group":
        return "group.schema.json"
    in_fleet = (
        Path(rel).parent.name == "devices"
        and (REPO / rel).parent.parent.joinpath("fleet.yaml").exists()
    )
    return "fleet-device.schema.json" if in_fleet else "device.schema.json"


def _schema_of_each_file() -> dict[str, str]:
    """Repo-relative YAML file -> repo-relative schema its modeline names."""
    out: dict[str, str] = {}
    for rel in _yaml_files():
        if rel in THIRD_PARTY:
            continue
        text = (REPO / rel).read_text()
        kind = KIND.search(text)
        assert kind, f"{rel}: not a reconciler document; list it in THIRD_PARTY with its checker"
        modeline = MODELINE.search(text.split("\napiVersion:", 1)[0])
        assert modeline, f"{rel}: no `# yaml-language-server: $schema=...` line at the top"
        schema = ((REPO / rel).parent / modeline.group(1)).resolve().relative_to(REPO)
        expected = f"schemas/{_expected_schema(rel, kind.group(1))}"
        assert str(schema) == expected, f"{rel} ({kind.group(1)}) names {schema}, not {expected}"
        out[rel] = str(schema)
    return out


def _check_jsonschema(*args: str) -> subprocess.CompletedProcess[str]:
    if not CHECK_JSONSCHEMA.exists():
        pytest.skip("needs check-jsonschema (pip install -e '.[test]')")
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )


def test_every_yaml_file_passes_the_schema_its_modeline_names() -> None:
    by_schema: dict[str, list[str]] = defaultdict(list)
    for rel, schema in _schema_of_each_file().items():
        by_schema[schema].append(rel)
    assert set(by_schema) == {
        "schemas/device.schema.json",
        "schemas/fleet-device.schema.json",
        "schemas/group.schema.json",
        "schemas/fleet.schema.json",
    }
    for schema, files in sorted(by_schema.items()):
        result = _check_jsonschema("--schemafile", schema, *files)
        assert result.returncode == 0, f"{schema}:\n{result.stdout}{result.stderr}"
    for rel, builtin in THIRD_PARTY.items():
        if builtin is not None:
            result = _check_jsonschema("--builtin-schema", builtin, rel)
            assert result.returncode == 0, f"{rel}:\n{result.stdout}{result.stderr}"


def test_a_partial_device_fails_the_full_device_schema() -> None:
    """Why fleet devices need their own schema: an override leaves out what groups give."""
    result = _check_jsonschema(
        "--schemafile", "schemas/device.schema.json", "fleet/devices/press-line-01.yaml"
    )
    assert result.returncode == 1 and "'host' is a required property" in result.stdout


DEVICE = """\
apiVersion: reconciler/v1
kind: Device
metadata: {{name: edge-001, model: UNO-2484G}}
spec:
  watchdog: {{enabled: {value}, timeoutSeconds: 60}}
"""


@pytest.mark.parametrize("value", ["true", "false"])
def test_booleans_both_accept(tmp_path: Path, value: str) -> None:
    path = tmp_path / "device.yaml"
    path.write_text(DEVICE.format(value=value))
    assert _validate(path) == 0
    assert (
        _check_jsonschema("--schemafile", "schemas/device.schema.json", str(path)).returncode == 0
    )


@pytest.mark.parametrize("value", ["yes", "'true'", "1"])
def test_non_booleans_both_reject(tmp_path: Path, value: str) -> None:
    """YAML 1.2 reads `yes` as a string; the schema says `type: boolean`, so must validate."""
    path = tmp_path / "device.yaml"
    path.write_text(DEVICE.format(value=value))
    schema = _check_jsonschema("--schemafile", "schemas/device.schema.json", str(path))
    assert schema.returncode == 1 and "is not of type 'boolean'" in schema.stdout
    assert _validate(path) == 1


def _validate(path: Path) -> int:
    return subprocess.run(
        [*reconcile_cmd(), "validate", str(path)], capture_output=True, env=subprocess_env()
    ).returncode
