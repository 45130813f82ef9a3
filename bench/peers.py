"""Our `files` job against the peers' own: Ansible `--check`, `pyinfra --dry` and a plain
Python floor, on the same N managed files (+ hostname, resolv.conf, timezone), in one run.

Runs bench/peers/run.sh (the peers' harness, see bench/peers/RESULTS.md) with our row
switched on: a generated fleet device with the same N+3 files in its `files` area, linux
backend against the sandbox root (`--root`). Every row is verified first (changes the tool
reported, and the files on disk checked by floor.py). Then prints the table with our wall
time as a ratio of each peer's in the same run (below 1: we are faster), and the cold
`reconcile plan` of the full-featured spec (bench/plan.py's measure) as a ratio of
`pyinfra --dry` at N=10 (issue 19's target: <= 0.33).

The peers are installed by run.sh into their own venv (PEER_VENV, default /tmp/peer-venv)
from PyPI, never into the project's. Ansible costs ~0.4 s per file per run, so it runs up to
--ansible-max-n (default 10). Nothing outside /tmp/peerbench is written.

Run: .venv/bin/python bench/peers.py [--sizes 10 100 1000] [--ansible-max-n 100]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUN_SH = REPO / "bench" / "peers" / "run.sh"
RECONCILE = REPO / ".venv" / "bin" / "reconcile"
PEERS = ("floor", "pyinfra", "ansible")


def run_matrix(sizes: list[int], ansible_max_n: int, profile: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(
        RECONCILE=str(RECONCILE),
        SIZES=" ".join(map(str, sizes)),
        ANSIBLE_MAX_N=str(ansible_max_n),
        PROFILE=profile,
    )
    subprocess.run([str(RECONCILE), "--version"], env=env, capture_output=True, check=True)
    proc = subprocess.run(["bash", str(RUN_SH)], env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"run.sh failed with exit code {proc.returncode}")
    return proc.stdout


def parse_rows(table: str) -> dict[tuple[str, str, str], tuple[float, str, str]]:
    """(tool, N, scenario) -> (median wall s, peak MiB, verified)."""
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 8 or cells[0] in ("tool", "---") or cells[1] == "-":
            continue
        tool, n, scenario, wall, peak, _runs, _got, verified = cells
        try:
            rows[(tool, n, scenario)] = (float(wall), peak, verified)
        except ValueError:
            continue
    return rows


def ratios_table(rows: dict[tuple[str, str, str], tuple[float, str, str]]) -> list[str]:
    out = [
        "| N | scenario | reconcile s | MiB | vs floor | vs pyinfra | vs ansible | verified |",
        "|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    names = {"A": "A cold apply", "B": "B steady check", "C": "C one drifted file"}
    for tool, n, scenario in sorted(rows, key=lambda k: (int(k[1]), k[2])):
        if tool != "reconcile":
            continue
        wall, peak, verified = rows[(tool, n, scenario)]
        cells = []
        for peer in PEERS:
            other = rows.get((peer, n, scenario))
            ok = other is not None and other[2] == "ok" and other[0] > 0
            cells.append(f"{wall / other[0]:.3f}" if ok and other else "-")
        out.append(
            f"| {n} | {names[scenario]} | {wall:.3f} | {peak} | {' | '.join(cells)} | {verified} |"
        )
    return out


def full_featured_plan(rows: dict[tuple[str, str, str], tuple[float, str, str]]) -> str:
    """The cold `reconcile plan` of examples/full-featured.yaml (sim, steady state, as
    bench/plan.py times it), right after the matrix, against `pyinfra --dry` at N=10."""
    import statistics
    import tempfile

    from benchkit import make_secrets
    from plan import SPEC, cold_plan

    with tempfile.TemporaryDirectory() as tmp:
        secrets = make_secrets(Path(tmp), SPEC, ["operator-password"])
        walls, _cpu, _rss = cold_plan(Path(tmp) / "state", secrets)
    wall = statistics.median(walls)
    line = f"cold `reconcile plan` of the full-featured spec (10 runs): median {wall:.3f} s"
    dry = rows.get(("pyinfra", "10", "B"))
    if dry is None or dry[2] != "ok":
        return line + "; no verified `pyinfra --dry` N=10 row in this run to compare with"
    return line + f" = {wall / dry[0]:.3f} x `pyinfra --dry` N=10 ({dry[0]:.3f} s)   target <= 0.33"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--ansible-max-n", type=int, default=10)
    parser.add_argument("--profile", choices=("quick", "full"), default="quick")
    args = parser.parse_args()
    if not RECONCILE.exists():
        sys.exit("run `make test` or `make demo` first: .venv/bin/reconcile is missing")
    table = run_matrix(args.sizes, args.ansible_max_n, args.profile)
    print(table.strip())
    print()
    print("Our wall time as a ratio of each peer's, same run (below 1: faster):")
    rows = parse_rows(table)
    print("\n".join(ratios_table(rows)))
    print()
    print(full_featured_plan(rows))


if __name__ == "__main__":
    main()
