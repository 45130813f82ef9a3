"""Dotted paths as people write them: one language for the plan, `fleet explain` and `sim set`.

The plan prints `access.users[monitor].roles` and `network.interfaces.eth0.dhcp`. Every
command that takes a path accepts that form, with or without a leading `spec.`, and with
named list items written either `[monitor]` or `.monitor`. An unknown segment gets a
did-you-mean from the keys (or item names) that exist at that point.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from reconciler.engine.change import Item, PathPart
from reconciler.errors import OperationError

DOCUMENT_KEYS = ("apiVersion", "kind", "metadata", "spec")
_ITEM = re.compile(r"\[([^\]]*)\]")


def segments(text: str) -> list[str]:
    """`spec.access.users[monitor].roles` -> ['access', 'users', 'monitor', 'roles']."""
    parts = [p for p in _ITEM.sub(r".\1", text.strip()).split(".") if p]
    return parts[1:] if parts[:1] == ["spec"] else parts


def document_path(text: str) -> str:
    """The path inside a whole Device document: `spec.` added unless it names the header."""
    parts = [p for p in _ITEM.sub(r".\1", text.strip()).split(".") if p]
    if parts[:1] and parts[0] in DOCUMENT_KEYS:
        return ".".join(parts)
    return ".".join(["spec", *parts])


def _names(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [str(k) for k in node]
    if isinstance(node, list):
        return [str(i["name"]) for i in node if isinstance(i, dict) and "name" in i]
    return []


def suggestion(data: Any, parts: list[str]) -> str | None:
    """`did you mean 'PATH'?` for the first segment of `parts` that `data` lacks."""
    node = data
    for depth, part in enumerate(parts):
        names = _names(node)
        if part in names:
            node = node[part] if isinstance(node, dict) else _named(node, part)
            continue
        close = difflib.get_close_matches(part, names, n=1)
        if not close:
            return None
        return ".".join([*parts[:depth], close[0], *parts[depth + 1 :]])
    return None


def _named(items: list[Any], name: str) -> Any:
    return next(i for i in items if isinstance(i, dict) and str(i.get("name")) == name)


def state_path(data: dict[str, Any], text: str) -> tuple[PathPart, ...]:
    """A path into a state document (observed or desired), list items by name.

    The area must exist (OperationError, with a did-you-mean, when it does not); below it,
    new keys may be named: what they may hold is for validation to say."""
    parts = segments(text)
    if not parts:
        raise OperationError("give a dotted path, e.g. watchdog.timeoutSeconds")
    if parts[0] not in data:
        hint = suggestion(data, parts)
        extra = f"; did you mean {hint!r}?" if hint else ""
        raise OperationError(f"no area {parts[0]!r} on the device{extra}")
    out: list[PathPart] = []
    node: Any = data
    for part in parts:
        if isinstance(node, list):
            out.append(Item(part))
            node = next((i for i in node if isinstance(i, dict) and i.get("name") == part), None)
        else:
            out.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return tuple(out)
