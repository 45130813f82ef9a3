"""The revert guard: a detached process that restores a pending checkpoint when its confirm
window ends unconfirmed (the applying process died or hung), and records the revert in that
apply's history. Started by engine.safe as `python -m reconciler.engine.guard PENDING_FILE`.

It knows no driver: the pending file names a factory (`module:callable`, from the backend's
`reopen()`) that gives the area's driver again from plain arguments.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from reconciler.engine.ports import Checkpointing
from reconciler.engine.safe import claim
from reconciler.engine.store import Store

POLL = 0.5
REASON = "not confirmed within the window (the applying process stopped)"


def reopen_driver(factory: str, area: str, arguments: dict[str, Any]) -> Any:
    module, _, name = factory.partition(":")
    return getattr(importlib.import_module(module), name)(area, **arguments)


def run(pending: Path) -> int:
    data = json.loads(pending.read_text())
    while time.time() < data["deadline"]:
        if not pending.exists():
            return 0  # confirmed or reverted by the applying process
        time.sleep(POLL)
    if not claim(pending):
        return 0
    try:
        driver = reopen_driver(data["factory"], data["area"], data["arguments"])
        if isinstance(driver, Checkpointing):
            driver.restore(data["snapshot"])
    finally:
        store = Store(Path(data["stateDir"]))
        try:
            reason = data.get("reason", REASON)
            store.record_revert(data["applyId"], data["area"], "guard", reason, [])
        finally:
            store.close()
        pending.with_suffix(".claimed").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
