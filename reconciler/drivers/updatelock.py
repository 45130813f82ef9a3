"""Update locks: an application holds a lock file (flock) while it must not be disturbed,
as with the device supervisor's update lock; reboot, shutdown and restartService wait.

The reconciler takes the same lock (non-blocking) around such an action; when an
application holds it, the change is deferred (DeviceDeferred), not failed.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reconciler.errors import DeviceDeferred


def _holder(path: Path) -> str:
    """Who holds the lock on `path`, from /proc/locks (best effort)."""
    try:
        inode = os.stat(path).st_ino
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()
            if len(fields) > 5 and fields[5].endswith(f":{inode}"):
                pid = fields[4]
                comm = Path(f"/proc/{pid}/comm").read_text().strip()
                return f"{comm} (pid {pid})"
    except (OSError, ValueError):
        pass
    return "another process"


@contextmanager
def update_lock(path: Path) -> Iterator[None]:
    """Hold the update lock at `path` for the action; DeviceDeferred when it is taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DeviceDeferred(f"deferred: update lock {path} held by {_holder(path)}") from None
        yield
    finally:
        os.close(fd)
