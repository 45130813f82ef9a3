"""What of a Device document parses, when some of it does not: the failing fields are cut
out and the rest validated again, so `validate` can run the capability and cross-field
checks on everything else in the same run (a bad host name does not hide a watchdog
timeout out of the model's range)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

if TYPE_CHECKING:
    from reconciler.spec.base import Loc
    from reconciler.spec.device import DeviceSpec

MAX_ROUNDS = 8
"""Re-validations at most: each cuts what failed; nested models fail one level per round."""


def _cut_point(loc: Loc, missing: bool) -> Loc | None:
    """Where to cut for an error at `loc`: the field itself; for a missing field the
    mapping that lacks it; never a list item (later items would change index), so the
    whole list; None when the cut would reach metadata (the profile needs it)."""
    target = loc[:-1] if missing else loc
    while target and isinstance(target[-1], int):
        target = target[:-1]
    if len(target) < 2 or target[0] != "spec":
        return None
    return target


def _cut(data: Any, loc: Loc) -> bool:
    node = data
    for part in loc[:-1]:
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_list or (isinstance(node, dict) and part in node)):
            return False
        node = node[part]
    if isinstance(node, dict) and loc[-1] in node:
        del node[loc[-1]]
        return True
    return False


def under(loc: Loc, cuts: list[Loc]) -> bool:
    """`loc` is in the mapping a field was cut from, or contains it: a cross-field check
    there sees the cut as absent (`dhcp: false` without the bad `address`), an echo."""
    scopes = [c[:-1] if len(c) > 2 else c for c in cuts]
    return any(loc[: len(s)] == s or s[: len(loc)] == loc for s in scopes)


def salvage(
    data: Any, exc: ValidationError, data_loc: Any
) -> tuple[DeviceSpec | None, list[Loc], list[tuple[Loc, str]]]:
    """(the spec without the failing fields or None, the cut locations, errors found only
    once the first ones were cut, as (loc, message)). `data_loc` maps a pydantic error
    location to the document's (loader._data_loc)."""
    from reconciler.spec.device import DeviceSpec

    work = copy.deepcopy(data)
    cuts: list[Loc] = []
    later: list[tuple[Loc, str]] = []
    for round_ in range(MAX_ROUNDS):
        for err in exc.errors(include_url=False):
            loc = data_loc(work, err["loc"])
            if round_ and err["type"] != "missing" and not under(loc, cuts):
                later.append((loc, str(err["msg"]).removeprefix("Value error, ")))
            target = _cut_point(loc, err["type"] == "missing")
            if target is None or not (_cut(work, target) or target in cuts):
                return None, cuts, later
            cuts.append(target)
        try:
            return DeviceSpec.model_validate(work), cuts, later
        except ValidationError as again:
            exc = again
    return None, cuts, later
