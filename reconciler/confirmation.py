"""Evidence that operators still get in after a connectivity change (`agent.confirm`, the
agent's commit-confirmed): an authenticated request to the status endpoint, which the
endpoint marks in the state directory, or a fresh inbound ssh login (a utmp entry with a
remote host, read through psutil). A neutral module: the API marks, the agent reads, and
neither imports the other."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

MARK = Path("confirm") / "status-request"
"""Under the state dir: its mtime is the last authenticated status request."""
MARK_EVERY_S = 1.0


class RequestMark:
    """Touches the mark for an authenticated request, at most once a second."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / MARK
        self._last = float("-inf")

    def touch(self) -> None:
        now = time.monotonic()
        if now - self._last < MARK_EVERY_S:
            return
        self._last = now
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()
        except OSError:
            pass  # a read-only state dir: this request confirms nothing


def _logins() -> Iterable[Any]:
    import psutil

    return psutil.users()


def evidence(
    state_dir: Path,
    via: Iterable[str],
    since: float,
    logins: Callable[[], Iterable[Any]] = _logins,
) -> str | None:
    """What confirms a change made at `since` (epoch seconds), or None yet."""
    for kind in via:
        if kind == "status":
            try:
                if (state_dir / MARK).stat().st_mtime >= since:
                    return "an authenticated status request"
            except OSError:
                pass
        elif kind == "ssh":
            fresh = [u for u in logins() if getattr(u, "host", "") and u.started >= since]
            if fresh:
                return f"an ssh login of {fresh[0].name} from {fresh[0].host}"
    return None
