#!/usr/bin/env python3
"""Whole-process timer (public re-implementation for run.sh; stdlib only).

    timecmd.py [-n RUNS] [--warmup W] [--log FILE] -- CMD [ARG...]

Runs CMD W times untimed, then RUNS times timed. For each run: wall seconds
(monotonic clock around spawn..reap) and peak RSS from wait4() (ru_maxrss of
the largest single process among those the command waited for -- same as
/usr/bin/time -v "Maximum resident set size"). stdout+stderr of the FIRST run
(warm-up or timed) go to --log FILE, later runs to /dev/null.
Prints one line:  median_wall_s median_peak_MiB min_wall_s max_wall_s runs exit_codes
"""

import os
import statistics
import subprocess
import sys
import time


def run_once(cmd, out):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, ru.ru_maxrss / 1024.0, p.returncode


def main():
    a = sys.argv[1:]
    runs, warm, log = 5, 1, None
    while a and a[0] != "--":
        opt, val = a[0], a[1]
        a = a[2:]
        if opt == "-n":
            runs = int(val)
        elif opt == "--warmup":
            warm = int(val)
        elif opt == "--log":
            log = val
        else:
            sys.exit(__doc__)
    cmd = a[1:]
    if not cmd:
        sys.exit(__doc__)
    walls, peaks, codes = [], [], []
    for k in range(warm + runs):
        if k == 0 and log:
            with open(log, "wb") as out:
                w, m, rc = run_once(cmd, out)
        else:
            with open(os.devnull, "wb") as out:
                w, m, rc = run_once(cmd, out)
        if k >= warm:
            walls.append(w)
            peaks.append(m)
            codes.append(rc)
    print(
        f"{statistics.median(walls):.3f} {statistics.median(peaks):.1f} "
        f"{min(walls):.3f} {max(walls):.3f} {runs} {','.join(map(str, sorted(set(codes))))}"
    )


if __name__ == "__main__":
    main()
