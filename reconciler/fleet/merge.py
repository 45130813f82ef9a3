"""Layering of spec fragments with the origin of every value (pure: no I/O, no models).

Rules, applied layer by layer (fleet defaults, then groups by ascending priority and name,
then the device):

- maps merge deeply;
- lists whose items are all maps with a scalar `name` merge item by item on `name`
  (new names are appended in the order written); any other list replaces the inherited one
  (so an empty list clears an inherited list);
- an explicit `null` removes the inherited value (and everything under it);
- two layers of equal, non-None priority (two groups) giving one path different values is
  a conflict: reported as a problem that names both files and lines.

Inputs are never mutated and the result shares unchanged subtrees with its inputs, so the
fleet plus one set of groups is merged once and reused as the base of every device that
matches exactly those groups.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from reconciler.loader import Pos, Problem, dotted
from reconciler.spec.base import Loc


class Origin(NamedTuple):
    """Where a value was written: value position first, key position for key-level errors."""

    file: str
    line: int
    col: int
    layer: str
    key_line: int = 0
    key_col: int = 0


Chain = tuple[Origin, ...]


@dataclass(frozen=True)
class Layer:
    """One document's contribution, rooted at the document root (so paths start "spec")."""

    name: str
    """"fleet", "group:NAME" or "device"; recorded in every Origin."""
    file: str
    data: Mapping[Any, Any]
    positions: Mapping[Loc, Pos]
    priority: int | None = None
    """Groups only: equal priorities must not disagree. None never conflicts."""


@dataclass
class Merged:
    """Effective data plus, for every path in it, the chain of origins that set it."""

    data: dict[Any, Any] = field(default_factory=dict)
    provenance: dict[Loc, Chain] = field(default_factory=dict)
    """Path -> every layer that set or overrode it, in order; the last one is in effect."""
    removed: dict[Loc, Chain] = field(default_factory=dict)
    """Paths an explicit null removed: the chain ending with the null."""
    priorities: dict[str, int | None] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    layers: tuple[str, ...] = ()


_MAX_SHOWN = 60


def short(value: Any) -> str:
    """Compact one-line rendering of a value for messages."""
    text = json.dumps(value, default=str, ensure_ascii=False, sort_keys=False)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types (YAML `1`, `1.0` and `true` are different settings)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def is_named_list(value: Any) -> bool:
    """A list of maps that each carry a scalar `name` (merged by name, not replaced)."""
    return isinstance(value, list) and all(
        isinstance(item, dict) and isinstance(item.get("name"), str | int) for item in value
    )


def walk(value: Any, loc: Loc = ()) -> Iterator[Loc]:
    """Every path in `value`, containers before their children."""
    yield loc
    if isinstance(value, dict):
        for key, child in value.items():
            yield from walk(child, (*loc, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from walk(child, (*loc, index))


class _Merger:
    """Applies one layer on top of a Merged result, producing a new one."""

    def __init__(self, base: Merged, layer: Layer) -> None:
        self.layer = layer
        self.prov: dict[Loc, Chain] = dict(base.provenance)
        self.removed: dict[Loc, Chain] = dict(base.removed)
        self.priorities = {**base.priorities, layer.name: layer.priority}
        self.problems: list[Problem] = list(base.problems)

    def origin(self, src: Loc) -> Origin:
        """Where `src` (or its nearest written ancestor) is in this layer's file."""
        positions, layer = self.layer.positions, self.layer
        pos, end = positions.get(src), len(src)  # nearly always there: no slicing
        while pos is None and end > 0:
            end -= 1
            pos = positions.get(src[:end])
        if pos is None:
            return Origin(layer.file, 1, 1, layer.name, 1, 1)
        return Origin(layer.file, pos.line, pos.col, layer.name, pos.key_line, pos.key_col)

    # -- dispatch ------------------------------------------------------------------------

    def merge(self, base: Any, over: Any, out: Loc, src: Loc) -> Any:
        """Merge `over` (this layer) onto `base` (so far) by the kind of value."""
        if isinstance(over, dict) and isinstance(base, dict):
            return self.merge_map(base, over, out, src)
        if isinstance(over, list) and over and is_named_list(over) and is_named_list(base):
            return self.merge_named(base, over, out, src)
        return self.replace(base, over, out, src)

    def merge_map(self, base: dict[Any, Any], over: Mapping[Any, Any], out: Loc, src: Loc) -> Any:
        """Key by key; a null removes, a new key is claimed, an existing one merges."""
        new = dict(base)
        for key, value in over.items():
            child_out, child_src = (*out, key), (*src, key)
            if value is None:
                if key in new:
                    self.remove(new.pop(key), child_out, child_src)
                else:
                    self.removed[child_out] = (
                        *self.removed.get(child_out, ()),
                        self.origin(child_src),
                    )
            elif key in new:
                new[key] = self.merge(new[key], value, child_out, child_src)
            else:
                new[key] = self.fresh(value, child_out, child_src)
        self.prov[out] = (*self.prov.get(out, ()), self.origin(src))
        return new

    def merge_named(self, base: list[Any], over: list[Any], out: Loc, src: Loc) -> Any:
        """Items with a known name merge into it; new names are appended."""
        new = list(base)
        index = {item["name"]: i for i, item in enumerate(base)}
        seen: dict[Any, int] = {}
        for i, item in enumerate(over):
            name = item["name"]
            if name in seen:
                self.duplicate(name, (*src, seen[name]), (*src, i))
                continue
            seen[name] = i
            if name in index:
                j = index[name]
                new[j] = self.merge_map(new[j], item, (*out, j), (*src, i))
            else:
                index[name] = len(new)
                new.append(self.fresh(item, (*out, len(new)), (*src, i)))
        self.prov[out] = (*self.prov.get(out, ()), self.origin(src))
        return new

    def replace(self, base: Any, over: Any, out: Loc, src: Loc) -> Any:
        """A scalar, a plain list or a change of type: the layer's value wins."""
        chain = self.prov.get(out, ())
        if not same(base, over):
            self.check_conflict(base, out, src, f"sets {short(over)}")
        self.prune(base, out)
        value = self.fresh(over, out, src)
        self.prov[out] = (*chain, *self.prov[out])
        return value

    def remove(self, base: Any, out: Loc, src: Loc) -> None:
        """An explicit null: drop the inherited subtree, remember who removed it."""
        chain = self.prov.get(out, ())
        self.check_conflict(base, out, src, "removes it (null)")
        self.prune(base, out)
        self.prov.pop(out, None)
        self.removed[out] = (*chain, self.origin(src))

    # -- new subtrees --------------------------------------------------------------------

    def fresh(self, value: Any, out: Loc, src: Loc) -> Any:
        """Claim a whole new subtree for this layer; nulls in maps remove nothing."""
        origin = self.origin(src)
        self.removed.pop(out, None)
        self.prov[out] = (origin,)
        if isinstance(value, dict):
            new: dict[Any, Any] = {}
            for key, child in value.items():
                if child is None:
                    child_out = (*out, key)
                    self.removed[child_out] = (self.origin((*src, key)),)
                else:
                    new[key] = self.fresh(child, (*out, key), (*src, key))
            return new
        if isinstance(value, list):
            if is_named_list(value):
                seen: dict[Any, int] = {}
                items: list[Any] = []
                for i, item in enumerate(value):
                    if item["name"] in seen:
                        self.duplicate(item["name"], (*src, seen[item["name"]]), (*src, i))
                        continue
                    seen[item["name"]] = i
                    items.append(self.fresh(item, (*out, len(items)), (*src, i)))
                return items
            return [self.fresh(item, (*out, i), (*src, i)) for i, item in enumerate(value)]
        return value

    def prune(self, base: Any, out: Loc) -> None:
        """Forget the origins of a subtree that is being replaced or removed."""
        for loc in walk(base, out):
            if loc != out:
                self.prov.pop(loc, None)
        if self.removed:
            n = len(out)
            for loc in [k for k in self.removed if len(k) > n and k[:n] == out]:
                del self.removed[loc]

    # -- problems ------------------------------------------------------------------------

    def check_conflict(self, base: Any, out: Loc, src: Loc, action: str) -> None:
        """Equal-priority layers must agree: the later one may not change what the other set."""
        priority = self.layer.priority
        if priority is None:
            return
        for loc in walk(base, out):
            chain = self.prov.get(loc)
            if not chain:
                continue
            other = chain[-1]
            if other.layer == self.layer.name or self.priorities.get(other.layer) != priority:
                continue
            here = self.origin(src)
            self.problems.append(
                Problem(
                    here.file,
                    here.line,
                    here.col,
                    dotted(out),
                    f"conflict between layers of equal priority {priority}: "
                    f"{_describe(other)} sets {dotted(loc)} = {short(_get(base, loc[len(out) :]))}"
                    f", {_describe(here)} {action}; give one a higher priority or set the "
                    "value in one place",
                )
            )
            return

    def duplicate(self, name: Any, first: Loc, again: Loc) -> None:
        line = self.origin(first).line
        where = self.origin(again)
        self.problems.append(
            Problem(
                where.file,
                where.line,
                where.col,
                dotted(again),
                f"duplicate name {name!r} in this list (first at line {line}); "
                "items are merged by name, so each name may appear once",
            )
        )

    def result(self, data: dict[Any, Any], base: Merged) -> Merged:
        return Merged(
            data=data,
            provenance=self.prov,
            removed=self.removed,
            priorities=self.priorities,
            problems=self.problems,
            layers=(*base.layers, self.layer.name),
        )


def _describe(origin: Origin) -> str:
    return f"{origin.layer} ({origin.file}:{origin.line}:{origin.col})"


def _get(data: Any, loc: Iterable[Any]) -> Any:
    for part in loc:
        data = data[part]
    return data


def apply_layer(base: Merged, layer: Layer) -> Merged:
    """`base` with `layer` merged on top; `base` itself is left unchanged."""
    merger = _Merger(base, layer)
    data = merger.merge_map(base.data, layer.data, (), ())
    return merger.result(data, base)


def merge_layers(layers: Sequence[Layer], base: Merged | None = None) -> Merged:
    """Apply `layers` in order on top of `base` (or nothing)."""
    result = base if base is not None else Merged()
    for layer in layers:
        result = apply_layer(result, layer)
    return result


def effective_origin(merged: Merged, loc: Loc) -> Origin | None:
    """The origin in effect for `loc` or, failing that, for its nearest recorded ancestor."""
    for end in range(len(loc), -1, -1):
        chain = merged.provenance.get(loc[:end])
        if chain:
            return chain[-1]
    return None
