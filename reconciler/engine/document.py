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


class Editor:
    """Edits one document, finding named items through an index built once per list, so
    a batch of changes costs O(changes), not O(changes x items). The first lookup in a list
    scans it instead (cheaper than indexing it, when one item is all that is wanted).

    With `copy_on_write`, containers are copied (shallowly, once) only along the paths
    edited, so the document handed in is left as it was."""

    def __init__(self, doc: Any, *, copy_on_write: bool = False) -> None:
        self.doc = doc
        self._indexes: dict[int, tuple[list[Any], dict[str, int]]] = {}
        self._scanned: dict[int, list[Any]] = {}
        self._cow = copy_on_write
        self._owned: dict[int, Any] = {id(doc): doc}

    def _find(self, items: list[Any], name: str) -> int | None:
        entry = self._indexes.get(id(items))
        if entry is not None and entry[0] is items:
            return entry[1].get(name)
        if self._scanned.get(id(items)) is not items:
            self._scanned[id(items)] = items  # a second lookup here builds the index
            return _index(items, name)
        return self._index_of(items).get(name)

    def _index_of(self, items: list[Any]) -> dict[str, int]:
        entry = self._indexes.get(id(items))
        if entry is None or entry[0] is not items:
            index: dict[str, int] = {}
            for i, item in enumerate(items):
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    index.setdefault(item["name"], i)
            entry = (items, index)
            self._indexes[id(items)] = entry
        return entry[1]

    def _append(self, items: list[Any], value: Any, name: str) -> int:
        items.append(value)
        self._index_of(items).setdefault(name, len(items) - 1)
        return len(items) - 1

    def _child(self, node: Any, key: Any) -> Any:
        """node[key], made this editor's own first when copying on write."""
        child = node[key]
        if self._cow and isinstance(child, dict | list) and id(child) not in self._owned:
            child = copy.copy(child)
            node[key] = child
            self._owned[id(child)] = child
        return child

    def set(self, path: Path, value: Any, *, owned: bool = False) -> None:
        """Set `path` to `value`, creating maps (and appending named items) on the way.
        `owned`: the value is the caller's fresh copy, stored as it is (no deep copy)."""
        if not owned:
            value = copy.deepcopy(value)
        node: Any = self.doc
        for depth, part in enumerate(path):
            last = depth == len(path) - 1
            if isinstance(part, Item):
                if not isinstance(node, list):
                    raise TypeError(f"{part} needs a list")
                i = self._find(node, part.name)
                if last:
                    if i is None:
                        self._append(node, value, part.name)
                    else:
                        node[i] = value
                    return
                if i is None:
                    i = self._append(node, {"name": part.name}, part.name)
                node = self._child(node, i)
            else:
                if last:
                    node[part] = value
                    return
                nxt = path[depth + 1]
                if part not in node or node[part] is None:
                    node[part] = [] if isinstance(nxt, Item) else {}
                node = self._child(node, part)

    def _parent(self, path: Path) -> Any:
        """The container holding `path`'s last part (owned), or MISSING."""
        node: Any = self.doc
        for part in path[:-1]:
            if isinstance(part, Item):
                i = self._find(node, part.name) if isinstance(node, list) else None
                if i is None:
                    return MISSING
                node = self._child(node, i)
            elif isinstance(node, dict) and part in node:
                node = self._child(node, part)
            else:
                return MISSING
        return node

    def get(self, path: Path) -> Any:
        """The value at `path`, or MISSING (named items found through the index)."""
        node: Any = self.doc
        for part in path:
            if isinstance(part, Item):
                i = self._find(node, part.name) if isinstance(node, list) else None
                if i is None:
                    return MISSING
                node = node[i]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                return MISSING
        return node

    def pointer(self, path: Path) -> str:
        """RFC 6901 pointer for `path`; a named item not yet present is `-` (append)."""
        parts: list[str] = []
        node: Any = self.doc
        for part in path:
            if isinstance(part, Item):
                i = self._find(node, part.name) if isinstance(node, list) else None
                parts.append("-" if i is None else str(i))
                node = node[i] if i is not None else MISSING
            else:
                parts.append(part.replace("~", "~0").replace("/", "~1"))
                node = node.get(part, MISSING) if isinstance(node, dict) else MISSING
        return "/" + "/".join(parts)

    def remove(self, path: Path) -> None:
        """Remove `path` if present."""
        parent = self._parent(path)
        last = path[-1]
        if isinstance(last, Item) and isinstance(parent, list):
            i = self._find(parent, last.name)
            if i is not None:
                del parent[i]
                self._indexes.pop(id(parent), None)
        elif isinstance(parent, dict) and isinstance(last, str):
            parent.pop(last, None)


def set_value(doc: dict[str, Any], path: Path, value: Any) -> None:
    """Set `path` to `value`, creating maps (and appending named items) on the way."""
    Editor(doc).set(path, value)


def remove(doc: dict[str, Any], path: Path) -> None:
    """Remove `path` if present."""
    Editor(doc).remove(path)


def apply_changes(doc: dict[str, Any], changes: Iterable[Change]) -> dict[str, Any]:
    """A copy of `doc` with `changes` applied: what the device should look like afterwards.
    Copied only along the changed paths; what they do not touch is shared with `doc`."""
    out = dict(doc)
    editor = Editor(out, copy_on_write=True)
    for change in changes:
        if change.op == "remove":
            editor.remove(change.path)
        else:
            editor.set(change.path, change.after)
    return out


def json_pointer(doc: Any, path: Path) -> str:
    """RFC 6901 pointer for `path` in `doc`; a named item not yet present is `-` (append)."""
    return Editor(doc).pointer(path)


_CONTAINERS = (dict, list)


def managed_view(desired: Any, observed: Any) -> Any:
    """The part of `observed` that `desired` manages: its keys, its named items. Shares
    what it does not narrow with `observed` (read it, do not edit it); a flat named item
    holding no key beyond the spec's is its own view (its keys may come in another order)."""
    if isinstance(desired, dict) and isinstance(observed, dict):
        return {
            k: managed_view(v, observed[k]) if isinstance(v, _CONTAINERS) else observed[k]
            for k, v in desired.items()
            if k in observed and k != "prune"
        }
    if (
        isinstance(desired, list)
        and isinstance(observed, list)
        and all(isinstance(i, dict) and "name" in i for i in desired)
    ):
        return _items_view({i["name"]: i for i in desired}, observed)
    return observed


def _items_view(wanted: dict[Any, dict[str, Any]], observed: list[Any]) -> list[Any]:
    """The observed named items the spec names, each narrowed to the spec's keys."""
    out = []
    for item in observed:
        if not isinstance(item, dict) or item.get("name") not in wanted:
            continue
        want = wanted[item["name"]]
        if item.keys() <= want.keys() and "prune" not in item:
            for value in item.values():
                if isinstance(value, _CONTAINERS):
                    out.append(managed_view(want, item))
                    break
            else:  # flat, nothing beyond the spec's keys: its own view
                out.append(item)
        else:
            out.append(managed_view(want, item))
    return out
