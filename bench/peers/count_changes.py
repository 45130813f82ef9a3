#!/usr/bin/env python3
"""Extract the number of changed/would-change managed files from a tool's output.

    count_changes.py TOOL LOGFILE      TOOL: ansible | pyinfra | floor | reconcile
Prints one integer (or -1 when the output cannot be parsed).
"""

import re
import sys


def ansible(lines):
    # one "changed: [host]" line per changed task, or per changed loop item;
    # the directory task is not a managed file and is left out
    task, n = None, 0
    for ln in lines:
        m = re.match(r"TASK \[(.*)\]", ln)
        if m:
            task = m.group(1)
        elif ln.startswith("changed: [") and task != "config directories":
            n += 1
    return n


def pyinfra(lines):
    text = "\n".join(lines)
    if "--> Detected changes:" in text:  # --dry (or apply without -y)
        sect = text.split("--> Detected changes:", 1)[1].split("\n\n", 1)[0]
        return len(re.findall(r"^\s+\S.*\s\d+ \(@", sect, re.M))
    if "--> Results:" in text:  # apply with -y: Success column counts changed ops
        sect = text.split("--> Results:", 1)[1].split("\n\n", 1)[0]
        n = 0
        for ln in sect.splitlines()[2:]:  # skip the header line
            cols = ln.split()
            if len(cols) >= 5 and not ln.strip().startswith("Grand total") and cols[-3] != "-":
                n += 1
        return n
    return -1


def floor(lines):
    return int(lines[-1]) if lines and lines[-1].strip().isdigit() else -1


def reconcile(lines):
    # plan: "Plan: A to add, C to change, R to remove." or "No changes. ...";
    # apply: "Apply complete: N change(s) applied (history #K)."
    for ln in reversed(lines):
        m = re.match(r"Plan: (\d+) to add, (\d+) to change, (\d+) to remove", ln)
        if m:
            return sum(int(g) for g in m.groups())
        if ln.startswith("No changes."):
            return 0
        m = re.match(r"Apply complete: (\d+) change", ln)
        if m:
            return int(m.group(1))
    return -1


def main():
    tool, path = sys.argv[1], sys.argv[2]
    with open(path, errors="replace") as fh:
        lines = [ln.rstrip("\n") for ln in fh]
    print(
        {"ansible": ansible, "pyinfra": pyinfra, "floor": floor, "reconcile": reconcile}[tool](
            lines
        )
    )


if __name__ == "__main__":
    main()
