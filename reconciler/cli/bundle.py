"""`reconcile bundle create`: argument parsing and output only (reconciler.fleet.bundle)."""

from __future__ import annotations

import argparse
from pathlib import Path


def arguments_create(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo", required=True, type=Path, metavar="DIR", help="the fleet's git repo")
    p.add_argument(
        "--out", required=True, type=Path, metavar="FILE", help="the bundle to write (replaced)"
    )
    p.add_argument("--branch", help="default: the branch checked out in DIR")


def cmd_create(args: argparse.Namespace) -> int:
    from reconciler.fleet.bundle import create_bundle

    made = create_bundle(args.repo, args.out, args.branch)
    print(f"{made.path}: branch {made.branch} at {made.commit[:12]}")
    return 0
