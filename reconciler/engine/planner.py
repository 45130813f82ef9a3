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

from collections.abc import Mapping
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


def _same_number(a: Any, b: Any) -> bool:
    numbers = (int, float)
    return (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
        and a == b
    )


class _Planner:
    def __init__(self, secrets: SecretLookup, inventory: Inventory, memo: PasswordMemo) -> None:
        self.secrets = secrets
        self.inventory = inventory
        self.memo = memo
        self.changes: list[Change] = []

    # -- comparison ------------------------------------------------------------------

    def secret_matches(self, ref: Mapping[str, Any], have: Any) -> bool:
        return bool(have == fingerprint(self.secrets(str(ref["secretRef"]))))

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
            for key, value in want.items():
                if key == PRUNE_KEY and len(path) == 1:
                    continue
                if key == "password" and is_secret_ref(value) and "passwordHash" in have:
                    self.password((*path, key), value, have["passwordHash"])
                    continue
                self.diff((*path, key), value, have.get(key, MISSING), prune)
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
            item_path = (*path, Item(item["name"]))
            if item.get(ENSURE_KEY) == "absent":
                if item["name"] in current:
                    self.emit(item_path, None, current[item["name"]], op="remove", reason=_ABSENT)
            elif item["name"] in current:
                self.diff(item_path, item, current[item["name"]], prune)
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
    missing: list[str] = []
    for name in sorted(secret_names(desired)):
        try:
            secrets(name)
        except LookupError as exc:
            missing.append(str(exc.args[0]) if exc.args else name)
    if missing:
        raise LookupError("; ".join(missing))
    planner = _Planner(secrets, inventory, passwords or NoMemo())
    for area, want in desired.items():
        if area in ONE_SHOT_AREAS:
            planner.one_shot((area,), want, observed.get(area, MISSING))
            continue
        prune = area in PRUNING_AREAS or (isinstance(want, dict) and want.get(PRUNE_KEY) is True)
        have = observed.get(area, MISSING)
        planner.diff((area,), want, have, prune)
        extra = have.get(UNMANAGED) if isinstance(have, Mapping) else None
        if extra and not (isinstance(want, Mapping) and UNMANAGED in want):
            planner.emit((area, UNMANAGED), None, extra, op="remove", reason=_UNMANAGED)
    return planner.changes


def secret_names(value: Any) -> set[str]:
    """Names of all secrets `value` references."""
    if is_secret_ref(value):
        return {str(value["secretRef"])}
    if isinstance(value, dict):
        return set().union(*(secret_names(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(secret_names(v) for v in value))
    return set()


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
