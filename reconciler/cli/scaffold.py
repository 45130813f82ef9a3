"""`reconcile init DIR`: parsing and output only; the files come from `reconciler.scaffold`."""

from __future__ import annotations

import argparse


def arguments_init(p: argparse.ArgumentParser) -> None:
    from reconciler.profiles import PROFILES

    p.add_argument("dir", metavar="DIR", help="where the fleet repo goes (created if missing)")
    p.add_argument("--device", default="gateway-01", help="the first device's name")
    p.add_argument(
        "--model",
        default="UNO-2484G",
        choices=sorted(PROFILES),
        help="the first device's hardware model (default: UNO-2484G)",
    )
    p.add_argument("--site", default="site-a", help="its site label and group (default: site-a)")


def cmd_init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from reconciler.scaffold import create_fleet_repo

    made = create_fleet_repo(Path(args.dir), args.device, args.model, args.site)
    print(f"Created a fleet repo in {made.root}:")
    for path in made.files:
        print(f"  {path.relative_to(made.root)}")
    print(
        f"\nThe files in {made.secrets_dir} are generated placeholders (mode 0600, directory "
        "0700, listed in .gitignore): replace them with the real secrets and keep them out of "
        f"Git. After copying them elsewhere: chmod 700 DIR && chmod 600 DIR/*.\n\nNext:\n"
        f"  reconcile fleet validate {made.root}\n"
        f"  reconcile plan --fleet {made.root} --device {args.device} "
        f"--secrets-dir {made.secrets_dir}"
    )
    return 0
