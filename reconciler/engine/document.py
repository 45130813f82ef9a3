"""Read and write nested state documents addressed by change paths (keys and named items)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, Final

from reconciler.engine.change import Change, Item, Path


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def _index(items: list[Any], name: str) -> int | None:
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == name:
            return i
    return None


def get(doc: Any, path: Path) -> Any:
    """The value at `path`, or MISSING."""
    node = doc
    for part in path:
        if isinstance(part, Item):
            if not isinstance(node, list):
                return MISSING
            i = _index(node, part.name)
            if i is None:
                return MISSING
            node = node[i]
        else:
            if not isinstance(node, dict) or part not in node:
                return MISSING
            node = node[part]
    return node


def set_value(doc: dict[str, Any], path: Path, value: Any) -> None:
    """Set `path` to `value`, creating maps (and appending named items) on the way."""
    node: Any = doc
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(part, Item):
            if not isinstance(node, list):
                raise TypeError(f"{part} needs a list")
            i = _index(node, part.name)
            if last:
                if i is None:
                    node.append(copy.deepcopy(value))
                else:
                    node[i] = copy.deepcopy(value)
                return
            if i is None:
                node.append({"name": part.name})
                i = len(node) - 1
            node = node[i]
        else:
            if last:
                node[part] = copy.deepcopy(value)
                return
            nxt = path[depth + 1]
            if part not in node or node[part] is None:
                node[part] = [] if isinstance(nxt, Item) else {}
            node = node[part]


def remove(doc: dict[str, Any], path: Path) -> None:
    """Remove `path` if present."""
    parent = get(doc, path[:-1])
    last = path[-1]
    if isinstance(last, Item) and isinstance(parent, list):
        i = _index(parent, last.name)
        if i is not None:
            del parent[i]
    elif isinstance(parent, dict) and isinstance(last, str):
        parent.pop(last, None)


def apply_changes(doc: dict[str, Any], changes: Iterable[Change]) -> dict[str, Any]:
    """A copy of `doc` with `changes` applied: what the device should look like afterwards."""
    out = copy.deepcopy(doc)
    for change in changes:
        if change.op == "remove":
            remove(out, change.path)
        else:
            set_value(out, change.path, change.after)
    return out


def json_pointer(doc: Any, path: Path) -> str:
    """RFC 6901 pointer for `path` in `doc`; a named item not yet present is `-` (append)."""
    parts: list[str] = []
    node = doc
    for part in path:
        if isinstance(part, Item):
            i = _index(node, part.name) if isinstance(node, list) else None
            parts.append("-" if i is None else str(i))
            node = node[i] if i is not None else MISSING
        else:
            parts.append(part.replace("~", "~0").replace("/", "~1"))
            node = node.get(part, MISSING) if isinstance(node, dict) else MISSING
    return "/" + "/".join(parts)


def managed_view(desired: Any, observed: Any) -> Any:
    """The part of `observed` that `desired` manages: its keys, its named items."""
    if isinstance(desired, dict) and isinstance(observed, dict):
        return {
            k: managed_view(v, observed[k])
            for k, v in desired.items()
            if k in observed and k != "prune"
        }
    if (
        isinstance(desired, list)
        and isinstance(observed, list)
        and all(isinstance(i, dict) and "name" in i for i in desired)
    ):
        names = {i["name"] for i in desired}
        wanted = {i["name"]: i for i in desired}
        return [
            managed_view(wanted[i["name"]], i)
            for i in observed
            if isinstance(i, dict) and i.get("name") in names
        ]
    return observed
