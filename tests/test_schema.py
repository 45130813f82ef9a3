"""The committed JSON Schemas: current, valid JSON Schema, and agreeing with the examples.

Editors (yaml-language-server) read schemas/device.schema.json through the modeline at the
top of each example; a stale or broken schema shows users wrong squiggles.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reconciler.loader import read_document

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO / "schemas"
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
CORPUS = REPO / "tests" / "corpus" / "invalid"


def _load(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text())


def _as_editor_sees_it(path: Path) -> Any:
    """The document as JSON data: what a schema validator in an editor checks (keys are
    strings, so pin 0 is "0")."""
    return json.loads(json.dumps(read_document(path).data))


def test_committed_schemas_match_the_models(cli: Callable[..., Any], tmp_path: Path) -> None:
    result = cli("schema", "--out", tmp_path)
    assert result.code == 0, result.text
    fresh = {str(p.relative_to(tmp_path)): p.read_text() for p in tmp_path.rglob("*.json")}
    assert {"device.schema.json", "openapi/status-api.json"} <= fresh.keys()
    committed = {str(p.relative_to(SCHEMAS)): p.read_text() for p in SCHEMAS.rglob("*.json")}
    stale = sorted(n for n in fresh.keys() | committed.keys() if fresh.get(n) != committed.get(n))
    assert not stale, (
        f"schemas/ is out of date with the models ({', '.join(stale)}): run `make schema` "
        "and commit the result"
    )


@pytest.mark.parametrize("name", sorted(p.name for p in SCHEMAS.glob("*.json")))
def test_schema_is_valid_json_schema(name: str) -> None:
    schema = _load(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_validates_against_the_device_schema(example: Path) -> None:
    validator = jsonschema.Draft202012Validator(_load("device.schema.json"))
    errors = [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(_as_editor_sees_it(example))
    ]
    assert not errors, errors


@pytest.mark.parametrize(
    "name",
    [
        "unknown-key-did-you-mean",
        "unknown-key-top-level",
        "wrong-type-bool",
        "wrong-type-list",
        "inline-secret",
        "enum-serial-mode",
        "enum-service-state",
        "mqtt-keepalive-low",
        "modbus-address-high",
        "password-length-min",
        "baud-rate",
        "secret-ref-bad-name",
        "missing-api-version",
        "missing-metadata-name",
        "wrong-api-version",
    ],
)
def test_device_schema_rejects_what_the_models_reject(name: str) -> None:
    """A schema that accepted anything would pass the tests above; these must fail it."""
    validator = jsonschema.Draft202012Validator(_load("device.schema.json"))
    assert list(validator.iter_errors(_as_editor_sees_it(CORPUS / f"{name}.yaml")))


def _patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return found + [p for value in node.values() for p in _patterns(value)]
    if isinstance(node, list):
        return [p for value in node for p in _patterns(value)]
    return []


def test_patterns_spell_out_their_characters() -> None:
    """The docs' alphabets are ASCII (ALPHA / DIGIT / ...). `\\w` and `\\d` are Unicode
    classes: they let any script's letters through, and pydantic-core compiles each such
    pattern into a large automaton on every cold start (the Modbus provider name's
    `[\\w\\-.~]{1,128}` took 40 ms)."""
    patterns = _patterns(_load("device.schema.json")) + _patterns(_load("fleet.schema.json"))
    assert len(patterns) > 20
    assert [p for p in patterns if any(c in p for c in ("\\w", "\\d", "\\W", "\\D"))] == []
