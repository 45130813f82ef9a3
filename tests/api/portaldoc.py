"""The platform portal reference's GET examples (tests/api/fixtures/portal-doc-examples.json,
extracted from the doc by scripts/portal_fixture.py) and the shape comparison the tests
hold each served GET to.

The comparison, recursively: every key the doc's example shows is present, with the same
JSON type. Keys the doc does not show are allowed (the OpenAPI schemas, closed, police
those). In an array, each served item must match one of the doc's items (the doc shows a
connected and a disconnected interface, a PCI device with IDs and an ACPI one without).
Numbers: an example written as an integer (`"mhz": 2600`, `"value": 40`) accepts an
integer or a float, because the doc writes whole floats without a fraction; an example
written with a fraction (`0.92`) requires a float. A key the doc shows without a value
(`"enabled": ,`) accepts any type. Where the doc contradicts itself, DEVIATIONS names the
spot, the type served and why.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "portal-doc-examples.json"

DEVIATIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("/platform/api/hwmon", f"$.{kind}[].value"): (
        "number",
        "this example alone quotes readings; the route's SSE form and the per-kind routes "
        "(hwmon/temperatures, ...) show numbers",
    )
    for kind in ("temperature", "voltage", "current", "fanspeed")
}
"""(path, location with array indexes as []) -> (JSON type served, why)."""


def gets() -> list[dict[str, Any]]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return list(data["gets"])


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _types_agree(actual: Any, documented: Any, wanted: str | None) -> bool:
    got = json_type(actual)
    if wanted is not None:
        return got == wanted or (wanted == "number" and got == "integer")
    if documented is None:
        return True
    shown = json_type(documented)
    return got == shown or (shown == "integer" and got == "number")


def differences(actual: Any, documented: Any, path: str, where: str = "$") -> list[str]:
    """Where `actual` departs from the doc's example (empty: same shape)."""
    deviation = DEVIATIONS.get((path, re.sub(r"\[\d+\]", "[]", where)))
    if not _types_agree(actual, documented, deviation[0] if deviation else None):
        return [f"{where}: {json_type(actual)} {actual!r}, the doc shows {documented!r}"]
    if deviation or documented is None:
        return []
    if isinstance(documented, dict):
        out = []
        for key, value in documented.items():
            if key not in actual:
                out.append(f"{where}: no key {key!r}")
            else:
                out += differences(actual[key], value, path, f"{where}.{key}")
        return out
    if isinstance(documented, list) and documented:
        return [
            err
            for i, item in enumerate(actual)
            for err in _item(item, documented, path, f"{where}[{i}]")
        ]
    return []


def _item(item: Any, documented: list[Any], path: str, where: str) -> list[str]:
    """No difference when `item` matches one of the doc's items, else those of the first."""
    tries = [differences(item, doc_item, path, where) for doc_item in documented]
    return [] if any(not t for t in tries) else tries[0]
