"""A stop signal is handled even when it lands while the main thread holds the very lock
the handling needs (an Event's condition, threading's start lock): a Python-level handler
that set an Event there deadlocked the agent on SIGTERM for ever."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from testkit import subprocess_env

SCRIPT = textwrap.dedent(
    """
    import os, queue, signal, threading
    from reconciler.stopsignals import on_signals

    handled = queue.Queue()
    on_signals((signal.SIGTERM, signal.SIGHUP), handled.put)
    with handled.mutex:     # the lock handled.put takes, held when the signals land
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGHUP)
        started = threading.Thread(target=lambda: None)
        started.start()     # threading's own locks taken with the signals pending
        started.join()
    print("handled", sorted([handled.get(timeout=60), handled.get(timeout=60)]))
    """
)


def test_signal_landing_inside_a_held_lock_is_still_handled() -> None:
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "handled [1, 15]"
