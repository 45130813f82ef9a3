"""`reconcile bundle create`: argument parsing and output only (reconciler.fleet.bundle)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_bundle_parser(sub: argparse._SubParsersAction[Any]) -> None:
    bundle = sub.add_parser(
        "bundle",
        help="git bundles of the fleet repo for sites without a network to Git",
        description="Carry the fleet repo to an offline site: `bundle create` writes one "
        "branch as a git bundle (signatures kept); `reconcile agent --source bundle:PATH` "
        "applies it with the same checks as a Git remote.",
    )
    bsub = bundle.add_subparsers(dest="bundle_command", metavar="COMMAND", required=True)
    p = bsub.add_parser("create", help="write a branch of the repo as a bundle file")
    p.add_argument("--repo", required=True, type=Path, metavar="DIR", help="the fleet's git repo")
    p.add_argument("--out", required=True, type=Path, metavar="FILE")
    p.add_argument("--branch", help="default: the branch checked out in DIR")
    p.set_defaults(func=cmd_bundle_create)


def cmd_bundle_create(args: argparse.Namespace) -> int:
    from reconciler.fleet.bundle import create_bundle

    made = create_bundle(args.repo, args.out, args.branch)
    print(f"{made.path}: branch {made.branch} at {made.commit[:12]}")
    return 0
