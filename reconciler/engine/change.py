"""Changes and plans as plain data: printable, serialisable, journaled, applied later."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler.areas import Risk

Op = Literal["add", "replace", "remove"]
RISK_ORDER: tuple[Risk, ...] = ("none", "disruptive", "connectivity", "reboot")

SENSITIVE = "(sensitive)"
FINGERPRINT_PREFIX = "fp:sha256:"
"""What a device-held secret looks like in observed state (engine.credentials)."""


@dataclass(frozen=True, order=True)
class Item:
    """Selects the element named `name` in a list of named items (`users[monitor]`)."""

    name: str

    def __str__(self) -> str:
        return f"[{self.name}]"


PathPart = str | Item
Path = tuple[PathPart, ...]


def dotted_path(path: Sequence[PathPart]) -> str:
    out = ""
    for part in path:
        if isinstance(part, Item):
            out += str(part)
        else:
            out += ("." if out else "") + part
    return out


def is_secret_ref(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and "secretRef" in value


SECRET_FIELDS = frozenset({"passwordHash", "content"})
"""Fields whose plain values are secret-like (hashes) or bulky and private (a managed
file's content: it may be a key) and are never shown."""


def redact(value: Any, key: str | None = None) -> Any:
    """Replace secret references and secret-like fields with '(sensitive)', recursively."""
    if key in SECRET_FIELDS and value is not None:
        return SENSITIVE
    if is_secret_ref(value) or (isinstance(value, str) and value.startswith(FINGERPRINT_PREFIX)):
        return SENSITIVE
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


@dataclass(frozen=True)
class Change:
    """One difference between desired and observed, and what to do about it."""

    path: Path
    op: Op
    before: Any
    after: Any
    sensitive: bool = False
    risk: Risk = "none"
    reason: str = ""

    @property
    def area(self) -> str:
        return str(self.path[0])

    @property
    def dotted(self) -> str:
        return dotted_path(self.path)

    def shown(self, which: Literal["before", "after"]) -> Any:
        """The value as it may be printed: '(sensitive)' for secrets, at any depth."""
        value = self.before if which == "before" else self.after
        if self.sensitive and value is not None:
            return SENSITIVE
        last = self.path[-1] if isinstance(self.path[-1], str) else None
        return redact(value, last)

    def as_dict(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "path": self.dotted,
            "op": self.op,
            "before": self.shown("before"),
            "after": self.shown("after"),
            "sensitive": self.sensitive,
            "risk": self.risk,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Plan:
    """An ordered list of changes for one device, plus the RFC 6902 form of it."""

    device: str
    backend: str
    changes: tuple[Change, ...]
    patch: tuple[dict[str, Any], ...] = ()
    refusals: tuple[str, ...] = field(default=())

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    @property
    def summary(self) -> dict[str, int]:
        counts = {"add": 0, "change": 0, "remove": 0}
        for c in self.changes:
            counts["change" if c.op == "replace" else c.op] += 1
        return counts

    def areas(self) -> list[str]:
        seen: dict[str, None] = {}
        for c in self.changes:
            seen.setdefault(c.area, None)
        return list(seen)

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "backend": self.backend,
            "changes": [c.as_dict() for c in self.changes],
            "patch": list(self.patch),
            "summary": self.summary,
            "refusals": list(self.refusals),
        }
