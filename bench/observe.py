"""Observe figures for the linux backend on this machine (read-only).

Prints the wall time of one `reconcile observe --backend linux` process (cold), of a full
in-process observe (configuration + telemetry, warm: median of several runs), and of each
area and telemetry reader on its own (median). Target from the issue: full observe under
200 ms warm. Areas the host lacks are timed too (they fail fast) and marked.

Run: .venv/bin/python bench/observe.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RECONCILE = REPO / ".venv" / "bin" / "reconcile"
RUNS = 15


def median_ms(fn: Callable[[], Any], runs: int = RUNS) -> tuple[float, str]:
    """Median wall time of `fn` in ms, and a note when it raised (area unavailable)."""
    times, note = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        try:
            fn()
        except Exception as exc:  # an unavailable area: still timed
            note = f"unavailable: {exc}"
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), note


def main() -> int:
    from reconciler.drivers.linux.areas import CONFIG_AREAS
    from reconciler.drivers.linux.backend import LinuxBackend

    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        command = [str(RECONCILE), "observe", "--backend", "linux", "--state-dir", tmp, "--json"]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        cold = (time.perf_counter() - start) * 1000

        start = time.perf_counter()
        backend = LinuxBackend.open(state, None)
        opened = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        backend.observe_all()
        first = (time.perf_counter() - start) * 1000
        full, _ = median_ms(backend.observe_all)
        config, _ = median_ms(backend.observe)

        print("linux backend observe on this machine (wall time)")
        print(f"  reconcile observe process, cold:       {cold:8.1f} ms")
        print(f"  LinuxBackend.open (generic profile):   {opened:8.1f} ms")
        print(f"  full observe, first in process:        {first:8.1f} ms")
        print(f"  full observe, warm (median of {RUNS}):    {full:8.1f} ms  (target < 200 ms)")
        print(f"  configuration areas only, warm:        {config:8.1f} ms")
        print("  per area, warm (median):")
        for area in CONFIG_AREAS:
            ms, note = median_ms(backend.driver(area).observe)
            print(f"    {area:18} {ms:8.2f} ms  {note}")
        print("  per telemetry reader, warm (median):")
        for key, read in backend.telemetry().items():
            ms, note = median_ms(read)
            print(f"    {key:18} {ms:8.2f} ms  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
