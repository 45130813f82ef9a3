"""The OpenAPI document: committed copy up to date, served at /openapi.json, covering every
route; and schemathesis fuzzing a live server against it."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from apikit import PASSWORDS, UNO, Served, apply_spec, serve, uno, write_secrets
from testkit import REPO

from reconciler.api.limits import ServerLimits
from reconciler.api.openapi import document, document_text
from reconciler.api.routes import OPERATIONS

__all__ = ["uno"]

COMMITTED = REPO / "schemas" / "openapi" / "status-api.json"
CONFIG = Path(__file__).resolve().parent / "schemathesis.toml"
REGENERATE = ".venv/bin/python -m reconciler.api.openapi schemas/openapi/status-api.json"


def test_committed_document_is_current() -> None:
    assert COMMITTED.read_text() == document_text(), f"stale: run {REGENERATE}"


def test_served_document_is_the_committed_one(uno: Served) -> None:
    response = uno.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(COMMITTED.read_text())


def test_document_covers_every_route() -> None:
    doc = document()
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert documented == {(op.path, op.method.lower()) for op in OPERATIONS}
    refs: set[str] = set()

    def collect(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.add(node["$ref"].rsplit("/", 1)[-1])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(doc)
    assert refs <= set(doc["components"]["schemas"])


@pytest.fixture
def fuzz_target(tmp_path: Path) -> Iterator[Served]:
    secrets = write_secrets(tmp_path / "secrets")
    apply_spec(UNO, tmp_path / "state", secrets)
    # One address sends thousands of requests: the rate limit (tested on its own) is off.
    served = serve(UNO, tmp_path / "state", secrets, limits=ServerLimits(rate=0))
    yield served
    served.handle.stop()


def test_schemathesis_finds_nothing(fuzz_target: Served, tmp_path: Path) -> None:
    """All checks (status codes, content types, schemas, 405s, auth enforcement, SSE
    events) on every operation; /auth/logout is left out, as it would revoke the token
    the run uses."""
    pytest.importorskip("schemathesis")
    basic = base64.b64encode(f"monitor:{PASSWORDS['monitor']}".encode()).decode()
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        CONFIG.read_text() + f'\n[[operations]]\ninclude-path = "/auth/token"\n'
        f'headers = {{ Authorization = "Basic {basic}" }}\n'
    )
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        str(COMMITTED),
        "--url",
        fuzz_target.url,
        "-H",
        f"Authorization: Bearer {fuzz_target.token()}",
        "--exclude-path",
        "/auth/logout",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "12",
        "--seed",
        "20261123",
        "--generation-database",
        "none",
        "--workers",
        "1",  # hypothesis' lambda reprs race in threads on Python 3.11 (ast.parse)
    ]
    proc = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=540, check=False
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    counts = proc.stdout.split("Test cases:")[-1].splitlines()[1]
    assert re.fullmatch(r"\s*(\d+) generated, \1 passed(, \d+ skipped)?", counts), counts
