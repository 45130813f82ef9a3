"""Desired x observed -> Plan. Pure: no I/O but the secret lookups it is handed.

Rules: only what the spec writes is compared. Maps are compared key by key. Lists of maps
that all have a `name` are collections keyed by name: a missing item is one `add`, a present
one is compared field by field, and an item gone from the spec is removed only when its area
says `prune: true` and the inventory says the reconciler created it. Other lists and scalars
are compared as whole values. Secret references are compared by fingerprint (device-held
secrets) or by crypt hash (account passwords); their values never enter a Change. A value
the device reports only as a fingerprint (file content) is compared by fingerprint. An item
with `ensure: absent` is removed when present; a list area the registry marks `prunes`
(files) prunes like `prune: true`. A one-shot area (`once`: operations) plans an `add` for
each named item the device has not recorded, and nothing else. Content a driver reports
under `<area>.unmanaged` (engine.ports.UNMANAGED: in an area it owns whole, what the spec
cannot express) is one `remove` whenever the spec declares the area.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.areas import ONE_SHOT_AREAS, PRUNING_AREAS
from reconciler.engine.change import (
    FINGERPRINT_PREFIX,
    SECRET_FIELDS,
    Change,
    Item,
    Path,
    Plan,
    dotted_path,
    is_secret_ref,
)
from reconciler.engine.credentials import fingerprint, verify_password
from reconciler.engine.document import MISSING, Editor
from reconciler.engine.ports import UNMANAGED, Inventory, SecretLookup
from reconciler.engine.risk import classify
from reconciler.engine.verified import NoMemo, PasswordMemo

PRUNE_KEY = "prune"
"""Area-level flag: remove items the reconciler created that are gone from the spec."""
ENSURE_KEY = "ensure"
"""Item-level: `ensure: absent` removes a named item that is present (files)."""
_ABSENT = "the spec says ensure: absent"
_UNMANAGED = "not produced by the spec: the reconciler owns all of this area, so removed"


def is_named_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in value)
    )


_SCALARS = frozenset({str, int, float, bool})


def _plainly_equal(want: Any, have: Any) -> bool:
    """The cheap common case of `_Planner.equal`: the same scalar, of the same type (a
    string the device reports as a fingerprint still goes the long way)."""
    kind = type(want)
    return (
        kind is type(have)
        and kind in _SCALARS
        and want == have
        and not (kind is str and want.startswith(FINGERPRINT_PREFIX))
    )


def _same_number(a: Any, b: Any) -> bool:
    numbers = (int, float)
    return (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
        and a == b
    )


class _Resolved:
    """The secrets one plan references, each looked up once (a lookup may read a file),
    kept only for that plan."""

    def __init__(self, values: dict[str, str], fallback: SecretLookup) -> None:
        self.values = values
        self.fallback = fallback
        self.fingerprints: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        value = self.values.get(name)
        if value is None:
            value = self.values[name] = self.fallback(name)
        return value

    def fingerprint(self, name: str) -> str:
        known = self.fingerprints.get(name)
        if known is None:
            known = self.fingerprints[name] = fingerprint(self(name))
        return known


class _Planner:
    def __init__(self, secrets: _Resolved, inventory: Inventory, memo: PasswordMemo) -> None:
        self.secrets = secrets
        self.inventory = inventory
        self.memo = memo
        self.changes: list[Change] = []

    # -- comparison ------------------------------------------------------------------

    def secret_matches(self, ref: Mapping[str, Any], have: Any) -> bool:
        return bool(have == self.secrets.fingerprint(str(ref["secretRef"])))

    def equal(self, want: Any, have: Any) -> bool:
        """Spec value equals device value (secrets by fingerprint, numbers by value)."""
        if is_secret_ref(want):
            return self.secret_matches(want, have)
        if isinstance(want, str) and isinstance(have, str) and have.startswith(FINGERPRINT_PREFIX):
            return have == fingerprint(want)  # the device reports only a hash (file content)
        if isinstance(want, dict):
            return (
                isinstance(have, dict)
                and set(want) <= set(have)
                and all(self.equal(v, have[k]) for k, v in want.items())
            )
        if isinstance(want, list):
            return (
                isinstance(have, list)
                and len(want) == len(have)
                and all(self.equal(w, h) for w, h in zip(want, have, strict=True))
            )
        return bool(want == have) or _same_number(want, have)

    # -- walk ------------------------------------------------------------------------

    def diff(self, path: Path, want: Any, have: Any, prune: bool) -> None:
        if isinstance(want, dict) and not is_secret_ref(want) and isinstance(have, dict):
            top = len(path) == 1
            for key, value in want.items():
                sub = have.get(key, MISSING)
                if _plainly_equal(value, sub) or (top and key == PRUNE_KEY):
                    continue
                self.field((*path, key), value, sub, have, prune)
            return
        named = is_named_list(want) or (want == [] and is_named_list(have))
        if named and (have is MISSING or have is None or isinstance(have, list)):
            self.collection(path, want, have if isinstance(have, list) else [], prune)
            return
        if not self.equal(want, have):
            self.emit(path, want, have)

    def collection(
        self, path: Path, want: list[dict[str, Any]], have: list[Any], prune: bool
    ) -> None:
        current = {i["name"]: i for i in have if isinstance(i, dict) and "name" in i}
        for item in want:
            name = item["name"]
            now = current.get(name, MISSING)
            if now == item and item.get(ENSURE_KEY) != "absent":
                continue  # the same plain data: nothing to compare field by field
            item_path = (*path, Item(name))
            if item.get(ENSURE_KEY) == "absent":
                if now is not MISSING:
                    self.emit(item_path, None, now, op="remove", reason=_ABSENT)
            elif now is not MISSING:
                self.diff(item_path, item, now, prune)
            else:
                self.emit(item_path, item, MISSING)
        if not prune:
            return
        wanted = {i["name"] for i in want}
        where = dotted_path(path)
        for name, item in current.items():
            if name not in wanted and (where, name) in self.inventory:
                self.emit((*path, Item(name)), None, item, op="remove")

    def one_shot(self, path: Path, want: Any, have: Any) -> None:
        """A one-shot area (operations): each item the device has not recorded is one
        `add`; a recorded item is history, never replaced, and one gone from the spec is
        not undone."""
        done = (
            {i.get("name") for i in have if isinstance(i, dict)}
            if isinstance(have, list)
            else set()
        )
        for item in want if isinstance(want, list) else []:
            if isinstance(item, dict) and item.get("name") not in done:
                self.emit((*path, Item(item["name"])), item, MISSING, reason="not run yet")

    def field(self, path: Path, want: Any, have: Any, parent: Any, prune: bool) -> None:
        """One field of a mapping (`parent` is the device's): an account password given by
        secret is checked against the device's crypt hash beside it, anything else diffed."""
        hashed = parent.get("passwordHash", MISSING) if isinstance(parent, dict) else MISSING
        if path[-1] == "password" and is_secret_ref(want) and hashed is not MISSING:
            self.password(path, want, hashed)
        else:
            self.diff(path, want, have, prune)

    def password(self, path: Path, ref: Mapping[str, Any], hashed: Any) -> None:
        secret = self.secrets(str(ref["secretRef"]))
        if isinstance(hashed, str) and self.memo.known(secret, hashed):
            return  # verified against this very hash before: no crypt
        if not verify_password(secret, hashed):
            self.emit(path, dict(ref), hashed, reason="password differs from the spec's secret")
        elif isinstance(hashed, str):
            self.memo.remember(secret, hashed)

    def emit(
        self, path: Path, want: Any, have: Any, op: str | None = None, reason: str = ""
    ) -> None:
        present = have is not MISSING and have is not None
        if op is None:
            op = "replace" if present else "add"
        last = path[-1]
        sensitive = is_secret_ref(want) or (isinstance(last, str) and last in SECRET_FIELDS)
        if not reason:
            reason = {
                "add": "not set on the device",
                "replace": "differs from the spec",
                "remove": "gone from the spec; created by the reconciler, so pruned",
            }[op]
        risk, why = classify(path, want)
        if why:
            reason = f"{reason} ({risk}: {why})"
        self.changes.append(
            Change(
                path=path,
                op=op,  # type: ignore[arg-type]
                before=have if present else None,
                after=None if op == "remove" else want,
                sensitive=sensitive,
                risk=risk,
                reason=reason,
            )
        )


def plan_changes(
    desired: Mapping[str, Any],
    observed: Mapping[str, Any],
    *,
    secrets: SecretLookup,
    inventory: Inventory = (),
    passwords: PasswordMemo | None = None,
) -> list[Change]:
    """The changes that take `observed` to `desired`, in spec order.

    Every referenced secret is looked up first, so a missing one fails the plan, not the
    apply halfway through. `passwords` remembers verified password/hash pairs (no crypt
    for a pair already verified)."""
    resolved: dict[str, str] = {}
    missing: list[str] = []
    for name in sorted(secret_names(desired)):
        try:
            resolved[name] = secrets(name)
        except LookupError as exc:
            missing.append(str(exc.args[0]) if exc.args else name)
    if missing:
        raise LookupError("; ".join(missing))
    planner = _Planner(_Resolved(resolved, secrets), inventory, passwords or NoMemo())
    for area, want in desired.items():
        if area in ONE_SHOT_AREAS:
            planner.one_shot((area,), want, observed.get(area, MISSING))
            continue
        prune = _prunes(area, want)
        have = observed.get(area, MISSING)
        planner.diff((area,), want, have, prune)
        extra = have.get(UNMANAGED) if isinstance(have, Mapping) else None
        if extra and not (isinstance(want, Mapping) and UNMANAGED in want):
            planner.emit((area, UNMANAGED), None, extra, op="remove", reason=_UNMANAGED)
    return planner.changes


def _prunes(area: str, want: Any) -> bool:
    return area in PRUNING_AREAS or (isinstance(want, dict) and want.get(PRUNE_KEY) is True)


def unreported(
    changes: Sequence[Change],
    observed: Mapping[str, Any],
    *,
    desired: Mapping[str, Any],
    secrets: SecretLookup,
    inventory: Inventory = (),
    passwords: PasswordMemo | None = None,
) -> list[bool]:
    """For each applied change, whether the device (`observed`, freshly read) does not
    report it: a removed path still there, an item a one-shot area has not recorded, or a
    value the planner would still find different from the spec. Only the changed paths are
    compared, so verifying costs O(changes), not O(state). A password verified here goes
    into `passwords`, so the next plan does not run crypt for it again."""
    planner = _Planner(_Resolved({}, secrets), inventory, passwords or NoMemo())
    device = Editor(observed)
    out: list[bool] = []
    for change in changes:
        path = change.path
        if change.op == "remove":
            out.append(device.get(path) is not MISSING)
            continue
        if change.area in ONE_SHOT_AREAS:
            out.append(device.get(path) is MISSING)
            continue
        before = len(planner.changes)
        parent = device.get(path[:-1]) if len(path) > 1 else MISSING
        prune = _prunes(change.area, desired.get(change.area))
        planner.field(path, change.after, device.get(path), parent, prune)
        out.append(len(planner.changes) > before)
    return out


def secret_names(value: Any) -> set[str]:
    """Names of all secrets `value` references."""
    found: set[str] = set()
    _collect_secrets(value, found)
    return found


_CONTAINERS = (dict, list)


def _collect_secrets(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        if is_secret_ref(value):
            found.add(str(value["secretRef"]))
            return
        children: Any = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return
    for child in children:  # scalars and references are handled here: no call for them
        if isinstance(child, dict) and len(child) == 1 and "secretRef" in child:
            found.add(str(child["secretRef"]))
        elif isinstance(child, _CONTAINERS):
            _collect_secrets(child, found)


def rfc6902_patch(observed: Mapping[str, Any], changes: list[Change]) -> list[dict[str, Any]]:
    """The plan as a JSON Patch against the observed document (secrets redacted)."""
    patch: list[dict[str, Any]] = []
    pointers = Editor(observed)
    for change in changes:
        op: dict[str, Any] = {"op": change.op, "path": pointers.pointer(change.path)}
        if change.op != "remove":
            op["value"] = change.shown("after")
        patch.append(op)
    return patch


def make_plan(
    device: str,
    backend: str,
    desired: Mapping[str, Any],
    observed: Mapping[str, Any],
    *,
    secrets: SecretLookup,
    inventory: Inventory = (),
    passwords: PasswordMemo | None = None,
) -> Plan:
    changes = plan_changes(
        desired, observed, secrets=secrets, inventory=inventory, passwords=passwords
    )
    return Plan(
        device=device,
        backend=backend,
        changes=tuple(changes),
        patch=tuple(rfc6902_patch(observed, changes)),
    )
