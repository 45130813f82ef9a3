"""Test hook: SIGKILL this process at a named point of an apply, to prove the journal and
the guard hold whatever moment a crash picks.

RECONCILER_FAILPOINT is `STAGE:AREA` (e.g. `after-area:gpio`, `in-window:network`) or
`count:N`: the Nth failpoint reached, whatever it is (the kill test picks N at random).
"""

from __future__ import annotations

import os
import signal

FAILPOINT_ENV = "RECONCILER_FAILPOINT"
_reached = 0


def failpoint(stage: str, area: str = "") -> None:
    global _reached
    want = os.environ.get(FAILPOINT_ENV)
    if not want:
        return
    _reached += 1
    if want == f"{stage}:{area}" or want == f"count:{_reached}":
        os.kill(os.getpid(), signal.SIGKILL)
