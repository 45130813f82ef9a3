#!/usr/bin/env python3
"""Floor: plan (default) or apply (--apply) desired.json in plain Python.

    floor.py DESIRED_JSON [--apply]
Reads every managed file, compares content + mode, prints the number of
differences (plan) or of files written (apply; tmp file + rename + chmod).
"""

import json
import os
import stat
import sys


def main():
    apply = "--apply" in sys.argv[2:]
    with open(sys.argv[1]) as fh:
        desired = json.load(fh)
    root, ndiff = desired["root"], 0
    for ent in desired["files"]:
        path, want, mode = root + ent["path"], ent["content"].encode(), int(ent["mode"], 8)
        try:
            with open(path, "rb") as fh:
                same = fh.read() == want and stat.S_IMODE(os.fstat(fh.fileno()).st_mode) == mode
        except FileNotFoundError:
            same = False
        if same:
            continue
        ndiff += 1
        if apply:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = path + ".floor-tmp"
            with open(tmp, "wb") as fh:
                fh.write(want)
            os.chmod(tmp, mode)
            os.replace(tmp, path)
    print(ndiff)


if __name__ == "__main__":
    main()
