"""`reconcile sim set | fault | reset`: drift and faults on the simulated device.

Parsing and output only; the simulated device lives in `reconciler.drivers.sim`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from reconciler.areas import AREA_NAMES
from reconciler.cli import options

if TYPE_CHECKING:
    from reconciler.drivers.sim.backend import SimBackend


def arguments_sim(p: argparse.ArgumentParser) -> None:
    options.add_state_dir(p)
    p.add_argument("--model", help="hardware model of a new simulated device")


def arguments_set(p: argparse.ArgumentParser) -> None:
    options.add_state_dir(p, nested=True)
    p.add_argument("path", help="dotted path as the plan prints it, e.g. watchdog.timeoutSeconds")
    p.add_argument("value", help="YAML value, e.g. 30 or '{direction: input}'")


def arguments_fault(p: argparse.ArgumentParser) -> None:
    options.add_state_dir(p, nested=True)
    p.add_argument(
        "area", choices=AREA_NAMES, metavar="AREA", help=f"one of: {', '.join(AREA_NAMES)}"
    )
    p.add_argument(
        "mode",
        choices=("once", "always", "ignore", "clear"),
        help="fail the next apply, every apply, report success but change nothing, or stop",
    )


def arguments_reset(p: argparse.ArgumentParser) -> None:
    options.add_state_dir(p, nested=True)


def _sim(args: argparse.Namespace) -> SimBackend:
    from reconciler.drivers.sim.backend import SimBackend

    return SimBackend.open(options.state_dir(args), args.model)


def cmd_set(args: argparse.Namespace) -> int:
    """Refuses what the model cannot hold (pin 42 of 8), so the next apply can still work."""
    from functools import partial

    from reconciler.loader import parse_documents
    from reconciler.validate import state_change_problems

    docs = parse_documents(args.value, "<value>")
    sim = _sim(args)
    check = partial(state_change_problems, sim.profile.model)
    path = sim.set_out_of_band(args.path, docs[0].data if docs else None, check=check)
    print(f"set {path} on the simulated device (out of band)")
    return 0


def cmd_fault(args: argparse.Namespace) -> int:
    _sim(args).inject_fault(args.area, args.mode)
    if args.mode == "clear":
        print(f"fault cleared: {args.area} applies normally again")
    elif args.mode == "ignore":
        print(f"fault injected: {args.area} reports success but changes nothing")
    else:
        print(f"fault injected: {args.area} fails {args.mode}")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    _sim(args).reset()
    print("simulated device reset to factory defaults")
    return 0
