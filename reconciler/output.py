"""Human-readable rendering of plans, history and observed state (no logic, only text)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.engine.change import Change, Plan
    from reconciler.engine.store import ApplyRecord

SYMBOL = {"add": "+", "replace": "~", "remove": "-"}
COLOR = {"add": "32", "replace": "33", "remove": "31", "risk": "35", "bold": "1"}


def use_color(stream: IO[str]) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set."""
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


class Painter:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, style: str) -> str:
        return f"\033[{COLOR[style]}m{text}\033[0m" if self.enabled else text


def value_text(value: Any) -> str:
    """Compact, YAML-flow-like rendering: strings quoted, maps and lists inline."""
    if isinstance(value, str):
        return value if value == "(sensitive)" else json.dumps(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {value_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    return json.dumps(value)


def change_line(change: Change, paint: Painter) -> str:
    from reconciler.engine.ports import UNMANAGED

    sym = paint(SYMBOL[change.op], change.op)
    risk = f"  {paint('(' + change.risk + ')', 'risk')}" if change.risk != "none" else ""
    listed = change.shown("before")
    if change.path[1:] == (UNMANAGED,) and isinstance(listed, list):
        lines = "".join(
            f"\n        {sym} {line if isinstance(line, str) else value_text(line)}"
            for line in listed
        )
        return f"    {sym} {change.dotted} (not produced by the spec):{risk}{lines}"
    if change.op == "replace":
        body = f"{value_text(change.shown('before'))} -> {value_text(change.shown('after'))}"
    elif change.op == "add":
        body = value_text(change.shown("after"))
    else:
        body = value_text(listed)
    return f"    {sym} {change.dotted}: {body}{risk}"


def plan_text(plan: Plan, paint: Painter) -> str:
    if not plan.changes:
        return f"No changes. {plan.device} matches its spec ({plan.backend} backend).\n"
    lines = [f"Plan for {paint(plan.device, 'bold')} ({plan.backend} backend):", ""]
    current = None
    for change in _by_area(plan.changes):
        if change.area != current:
            current = change.area
            lines.append(f"  {paint(current, 'bold')}")
        lines.append(change_line(change, paint))
    s = plan.summary
    lines += ["", f"Plan: {s['add']} to add, {s['change']} to change, {s['remove']} to remove."]
    risky = sorted({c.risk for c in plan.changes if c.risk != "none"})
    if risky:
        lines.append(f"Risk: {', '.join(risky)}.")
    return "\n".join(lines) + "\n"


def _by_area(changes: Iterable[Change]) -> list[Change]:
    from reconciler.areas import rank

    return sorted(changes, key=lambda c: rank(c.area))


def history_text(records: list[ApplyRecord]) -> str:
    if not records:
        return "No applies recorded yet.\n"
    lines = [f"{'ID':>4}  {'STARTED (UTC)':20}  {'STATUS':11}  {'+/~/-':9}  SOURCE"]
    for r in records:
        d = r.as_dict()
        s = r.summary
        counts = f"{s.get('add', 0)}/{s.get('change', 0)}/{s.get('remove', 0)}"
        line = f"{r.id:>4}  {d['startedAt']:20}  {r.status:11}  {counts:9}  {r.source}"
        if r.error:
            line += f"\n      error: {r.error}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def observed_text(observed: dict[str, Any]) -> str:
    """The observed document as YAML (secret fingerprints shown as '(sensitive)')."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.default_flow_style = False
    buf = io.StringIO()
    yaml.dump(redact_observed(observed), buf)
    return buf.getvalue()


def redact_observed(value: Any) -> Any:
    """Observed state as it may be shown: hashes and secret fingerprints as '(sensitive)'."""
    from reconciler.engine.change import redact

    return redact(value)


def emit_json(data: Any, stream: IO[str] | None = None) -> None:
    out = stream or sys.stdout
    json.dump(data, out, indent=2, sort_keys=False, default=str)
    out.write("\n")
