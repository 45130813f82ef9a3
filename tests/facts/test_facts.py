"""Golden files: every tests/facts/<Fact>/<case>.json holds raw input captured from a real
host (or transcribed from one) and the parse it must give. Recapture with capture.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.drivers.linux.facts import FACTS

HERE = Path(__file__).resolve().parent
CASES = sorted(HERE.glob("*/*.json"))


def _parse(fact: str, case: dict[str, Any]) -> Any:
    parse = FACTS[fact]
    return parse(*case["args"]) if "args" in case else parse(case["input"])


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fact_parses_as_recorded(path: Path) -> None:
    case = json.loads(path.read_text())
    assert path.parent.name in FACTS, f"no parser named {path.parent.name}"
    assert json.loads(json.dumps(_parse(path.parent.name, case))) == case["expected"]


def test_every_fact_has_a_golden_case() -> None:
    assert sorted(FACTS) == sorted({p.parent.name for p in CASES})
