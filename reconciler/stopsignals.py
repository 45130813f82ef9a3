"""Stop signals handled on a thread of their own.

A Python signal handler runs on the main thread between two bytecodes, wherever that
thread is: inside `Event.wait`, `Thread.start` or a logging call. A handler that sets an
Event, starts a thread or logs takes a lock the interrupted code may already hold (Event's
Condition and threading's `_active_limbo_lock` are plain locks), and the process hangs for
ever on SIGTERM. So the handler here does nothing; the interpreter's C-level handler writes
the signal number to a pipe (`signal.set_wakeup_fd`), and a watcher thread reads it and
calls back, free to take any lock.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterable


def _ignore(_signum: int, _frame: object) -> None:
    """Replaces the default action (end the process); the watcher does the work."""


def on_signals(signals: Iterable[signal.Signals], callback: Callable[[int], None]) -> None:
    """Call `callback(signum)` on a daemon thread for each of `signals` that arrives.

    Must be called from the main thread (signal handlers and the wakeup fd live there)."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    for sig in signals:
        signal.signal(sig, _ignore)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)

    def watch() -> None:
        while True:
            for signum in os.read(read_end, 64):
                callback(signum)

    threading.Thread(target=watch, name="stop-signals", daemon=True).start()
