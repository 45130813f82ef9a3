"""The revert guard: a detached process that restores a pending checkpoint when its confirm
window ends unconfirmed (the applying process died or hung). Started by safe.SafeApply as
`python -m reconciler.drivers.linux.guard PENDING_FILE`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from reconciler.drivers.linux.areas import make_driver
from reconciler.drivers.linux.context import Context, LinuxOptions
from reconciler.drivers.linux.host import Host
from reconciler.drivers.linux.runner import SubprocessRunner
from reconciler.drivers.linux.safe import claim, record_revert
from reconciler.engine.ports import Checkpointing

POLL = 0.5


def run(pending: Path) -> int:
    data = json.loads(pending.read_text())
    while time.time() < data["deadline"]:
        if not pending.exists():
            return 0  # confirmed or reverted by the applying process
        time.sleep(POLL)
    if not claim(pending):
        return 0
    options = LinuxOptions.from_mapping(data["options"])
    host = Host(Path(data["root"]), SubprocessRunner(data["prefix"] or ()))
    ctx = Context(host, options, Path(data["stateDir"]))
    driver = make_driver(ctx, data["area"])
    try:
        if isinstance(driver, Checkpointing):
            driver.restore(data["snapshot"])
    finally:
        record_revert(
            ctx.state_dir,
            {
                "area": data["area"],
                "by": "guard",
                "reason": "not confirmed within the window (the applying process stopped)",
                "unreachable": [],
            },
        )
        pending.with_suffix(".claimed").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
