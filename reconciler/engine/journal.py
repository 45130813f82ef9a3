"""Journal rules that are not SQL: how long history is kept, and whether an interrupted
change reached the device (judged from the journaled, redacted plan and a fresh observe)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.engine.change import SENSITIVE, Item, Path
from reconciler.engine.document import MISSING, get

KEEP_ENV = "RECONCILER_HISTORY_KEEP"
DAYS_ENV = "RECONCILER_HISTORY_DAYS"
_PART = re.compile(r"\[([^\]]*)\]|([^.\[\]]+)")


@dataclass(frozen=True)
class Retention:
    """How much history is kept: the newest `max_applies`, none older than `max_age_days`
    (the newest applied one always stays); the file is vacuumed every `vacuum_every` applies."""

    max_applies: int = 1000
    max_age_days: float = 90.0
    vacuum_every: int = 100

    @classmethod
    def from_env(cls) -> Retention:
        """Defaults, overridden by RECONCILER_HISTORY_KEEP / RECONCILER_HISTORY_DAYS."""
        keep, days = os.environ.get(KEEP_ENV), os.environ.get(DAYS_ENV)
        return cls(
            max_applies=max(1, int(keep)) if keep and keep.isdigit() else cls.max_applies,
            max_age_days=float(days) if days and _is_number(days) else cls.max_age_days,
        )


def _is_number(text: str) -> bool:
    try:
        return float(text) > 0
    except ValueError:
        return False


def parse_dotted(dotted: str) -> Path:
    """`access.users[ops].enabled` -> ("access", "users", Item("ops"), "enabled")."""
    return tuple(Item(m[1]) if m[2] is None else m[2] for m in _PART.finditer(dotted))


def _covers(observed: Any, shown: Any) -> bool:
    """The observed value carries everything the journaled (redacted) value shows."""
    if shown == SENSITIVE:
        return observed is not MISSING  # a secret cannot be compared; its presence can
    if isinstance(shown, dict):
        return isinstance(observed, dict) and all(
            _covers(observed.get(k, observed.get(f"{k}Hash", MISSING)), v) for k, v in shown.items()
        )
    if isinstance(shown, list) and isinstance(observed, list) and len(shown) == len(observed):
        return all(_covers(o, v) for o, v in zip(observed, shown, strict=True))
    return bool(observed == shown)


def reached_device(change: Mapping[str, Any], observed: Mapping[str, Any]) -> bool:
    """Whether the device reports the journaled `change` (a plan's change as a dict)."""
    now = get(observed, parse_dotted(str(change.get("path", ""))))
    if change.get("op") == "remove":
        return now is MISSING
    return now is not MISSING and _covers(now, change.get("after"))
