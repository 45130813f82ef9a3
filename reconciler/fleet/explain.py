"""`reconcile fleet explain`: a device's value at a path and every layer that shaped it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reconciler.fleet.merge import Merged, apply_layer, is_named_list
from reconciler.fleet.render import RenderedDevice, render_fleet_device
from reconciler.loader import Problem, SpecError, dotted
from reconciler.paths import document_path, suggestion
from reconciler.spec.base import Loc


@dataclass
class Step:
    """One layer's part: where it wrote, what it did, the value right after it."""

    file: str
    line: int
    col: int
    layer: str
    priority: int | None
    action: str
    """set | override | merge | remove"""
    value: Any


@dataclass
class Explanation:
    """The answer to "why does this device have this value?"."""

    device: str
    path: str
    found: bool
    """False when the value was removed by an explicit null."""
    value: Any
    steps: list[Step] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "path": self.path,
            "set": self.found,
            "value": self.value,
            "chain": [asdict(s) for s in self.steps],
        }


def resolve(data: Any, text: str) -> tuple[Loc, bool]:
    """Dotted path -> location (map keys, list indexes or item names); and whether it exists.

    Numeric segments match integer map keys (gpio pins) and list indexes; a segment under a
    list of named items matches an item's name first.
    """
    parts = [p for p in text.strip().split(".") if p]
    loc: list[str | int] = []
    node: Any = data
    exists = True
    for part in parts:
        key: str | int = part
        if exists and isinstance(node, dict):
            if part not in node and part.lstrip("-").isdigit() and int(part) in node:
                key = int(part)
            if key in node:
                node = node[key]
            else:
                exists = False
        elif exists and isinstance(node, list):
            named = [
                i
                for i, item in enumerate(node)
                if isinstance(item, dict) and str(item.get("name")) == part
            ]
            if named:
                key = named[0]
            elif part.isdigit() and int(part) < len(node):
                key = int(part)
            else:
                exists = False
            if exists:
                node = node[int(key)]
        else:
            exists = False
            if part.lstrip("-").isdigit():
                key = int(part)
        loc.append(key)
    return tuple(loc), exists


def display_path(data: Any, loc: Loc) -> str:
    """Dotted path naming items of named lists by their name (stable across reorders)."""
    parts: list[str] = []
    node: Any = data
    for part in loc:
        if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            item = node[part]
            named = isinstance(item, dict) and isinstance(item.get("name"), str | int)
            parts.append(str(item["name"]) if named else str(part))
            node = item
            continue
        parts.append(str(part))
        node = node.get(part) if isinstance(node, dict) else None
    return ".".join(parts)


def value_at(data: Any, text: str) -> tuple[bool, Any]:
    loc, exists = resolve(data, text)
    if not exists:
        return False, None
    for part in loc:
        data = data[part]
    return True, data


def explain(rendered: RenderedDevice, text: str) -> Explanation | None:
    """The value at `text` and its chain of layers; None if no layer ever set it."""
    merged = rendered.merged
    if merged is None:
        return None
    loc, exists = resolve(merged.data, text)
    chain = merged.provenance.get(loc, ()) if exists else merged.removed.get(loc, ())
    if not chain:
        return None
    # The value right after each layer: merge the layers one at a time.
    after: dict[str, tuple[bool, Any]] = {}
    partial = Merged()
    for layer in rendered.layers:
        partial = apply_layer(partial, layer)
        after[layer.name] = value_at(partial.data, text)
    steps: list[Step] = []
    for i, origin in enumerate(chain):
        present, value = after.get(origin.layer, (False, None))
        had, before = after.get(chain[i - 1].layer, (False, None)) if i else (False, None)
        if not present:
            action = "remove"
        elif not had:
            action = "set"
        elif (isinstance(value, dict) and isinstance(before, dict)) or (
            value and before and is_named_list(value) and is_named_list(before)
        ):
            action = "merge"
        else:
            action = "override"
        steps.append(
            Step(
                origin.file,
                origin.line,
                origin.col,
                origin.layer,
                merged.priorities.get(origin.layer),
                action,
                value if present else None,
            )
        )
    found, value = value_at(merged.data, text) if exists else (False, None)
    path = display_path(merged.data, loc) if exists else dotted(loc)
    return Explanation(rendered.name or "", path, found, value, steps)


def explain_device(root: str | Path, name: str, text: str) -> Explanation:
    """Render `name` in the fleet at `root` and explain `text` (a path as the plan prints
    it, with or without `spec.`); SpecError, with a did-you-mean, if impossible."""
    rendered = render_fleet_device(root, name, validate=False)
    if rendered.merged is None:
        raise SpecError(rendered.problems)
    text = document_path(text)
    found = explain(rendered, text)
    if found is None:
        hint = suggestion(rendered.merged.data, text.split("."))
        raise SpecError(
            [
                Problem(
                    rendered.file,
                    1,
                    1,
                    text,
                    f"no layer sets {text!r} for device {name!r} (fleet.yaml, its groups "
                    f"{', '.join(g.name for g in rendered.groups) or '(none)'}, and its file)"
                    + (f"; did you mean {hint!r}?" if hint else ""),
                )
            ]
        )
    return found
