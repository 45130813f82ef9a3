"""`reconcile` command line: argument parsing and output only; the work is done elsewhere.

Errors are one located line per problem (`FILE:LINE:COL: path: message`) or one sentence,
never a traceback. Exit codes: 0 ok, 1 error; `plan` exits 2 when there are changes.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler import __version__
from reconciler.areas import BACKENDS

if TYPE_CHECKING:
    from reconciler.engine.change import Plan
    from reconciler.operations import Target

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


# --- validate / schema ------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    from reconciler.validate import validate_paths

    report = validate_paths(args.paths)
    if args.format == "json":
        from reconciler.output import emit_json

        emit_json(report.as_dict())
    else:
        for problem in report.problems:
            print(problem, file=sys.stderr if problem.severity == "error" else sys.stdout)
        status = "valid" if report.ok else "invalid"
        for path in report.skipped:
            print(f"{path}: skipped: not a reconciler document (no apiVersion or kind)")
        skipped = f" ({len(report.skipped)} non-spec file(s) skipped)" if report.skipped else ""
        print(
            f"{report.files} file(s) checked, {report.error_count} error(s): {status}.{skipped}",
            file=sys.stdout if report.ok else sys.stderr,
        )
    return EXIT_OK if report.ok else EXIT_ERROR


def cmd_schema(args: argparse.Namespace) -> int:
    from reconciler.schema import write_schemas

    for path in write_schemas(Path(args.out)):
        print(f"wrote {path}")
    return EXIT_OK


# --- plan / apply / observe -------------------------------------------------------------


def _target(args: argparse.Namespace) -> Target:
    from reconciler.operations import load_target

    return load_target(args.file, args.fleet, args.device)


def _state_dir(args: argparse.Namespace) -> Path:
    from reconciler.operations import default_state_dir

    return Path(args.state_dir) if args.state_dir else default_state_dir()


def _secrets(args: argparse.Namespace) -> Any:
    from reconciler.secrets import SecretResolver

    state_dir = _state_dir(args)
    default = state_dir / "secrets"
    secrets_dir = Path(args.secrets_dir) if args.secrets_dir else default
    return SecretResolver(secrets_dir if secrets_dir.is_dir() else None)


def _print_plan(plan: Plan, as_json: bool) -> None:
    from reconciler.output import Painter, emit_json, plan_text, use_color

    if as_json:
        emit_json(plan.as_dict())
    else:
        sys.stdout.write(plan_text(plan, Painter(use_color(sys.stdout))))


def _refused(plan: Plan, force: bool) -> bool:
    """Print lockout refusals; True when the plan must not go ahead."""
    for reason in plan.refusals:
        if force:
            print(f"warning: --force given, going ahead although {reason}.", file=sys.stderr)
        else:
            _err(f"refusing this plan: {reason} (use --force to override).")
    return bool(plan.refusals) and not force


def cmd_plan(args: argparse.Namespace) -> int:
    from reconciler import operations as ops

    target = _target(args)
    state_dir = _state_dir(args)
    backend = ops.target_backend(args.backend, state_dir, target, root=args.root)
    store = ops.open_store(state_dir)
    plan = ops.compute_plan(target, backend, store, _secrets(args))
    _print_plan(plan, args.json)
    if _refused(plan, args.force):
        return EXIT_ERROR
    return EXIT_CHANGES if plan.changes else EXIT_OK


def _confirm(plan: Plan) -> bool:
    if not sys.stdin.isatty():
        _err("refusing to apply without confirmation: stdin is not a terminal; pass --yes.")
        return False
    answer = input(f"Apply {len(plan)} change(s) to {plan.device}? Only 'yes' is accepted: ")
    if answer.strip() != "yes":
        print("Apply cancelled.")
        return False
    return True


def cmd_apply(args: argparse.Namespace) -> int:
    from reconciler import operations as ops
    from reconciler.output import emit_json

    target = _target(args)
    state_dir = _state_dir(args)
    backend = ops.target_backend(args.backend, state_dir, target, root=args.root)
    store = ops.open_store(state_dir)
    secrets = _secrets(args)
    with ops.locked(store):
        plan = ops.compute_plan(target, backend, store, secrets)
        if not args.json:
            _print_plan(plan, False)
        if _refused(plan, args.force):
            return EXIT_ERROR
        if not plan.changes:
            if args.json:
                emit_json({"plan": plan.as_dict(), "result": {"status": "unchanged"}})
            return EXIT_OK
        if not args.yes and not _confirm(plan):
            return EXIT_ERROR
        result = ops.run_apply(target, plan, backend, store, secrets)
    if args.json:
        emit_json(
            {
                "plan": plan.as_dict(),
                "result": {
                    "status": result.status,
                    "applyId": result.apply_id,
                    "applied": result.applied,
                    "error": result.error,
                },
            }
        )
    elif result.status == "applied":
        print(f"Apply complete: {result.applied} change(s) applied (history #{result.apply_id}).")
    if result.status != "applied":
        _err(
            f"apply #{result.apply_id} stopped after {result.applied} change(s): {result.error}. "
            "The next apply continues from the device's current state."
        )
        return EXIT_ERROR
    return EXIT_OK


def cmd_observe(args: argparse.Namespace) -> int:
    from reconciler import operations as ops
    from reconciler.output import emit_json, observed_text, redact_observed

    model = None
    if args.file or args.fleet:
        model = _target(args).spec.metadata.model
    backend = ops.open_backend(args.backend, _state_dir(args), model or args.model, root=args.root)
    observed = backend.observe_all()
    if args.json:
        emit_json(redact_observed(observed))
    else:
        sys.stdout.write(observed_text(observed))
    return EXIT_OK


# --- history / rollback / sim -----------------------------------------------------------


def cmd_history(args: argparse.Namespace) -> int:
    from reconciler import operations as ops
    from reconciler.output import emit_json, history_text

    store = ops.open_store(_state_dir(args))
    records = store.history(args.limit)
    if args.show is not None:
        plan = store.plan_of(args.show)
        if plan is None:
            _err(f"no apply #{args.show} in history.")
            return EXIT_ERROR
        emit_json({"plan": plan, "changes": store.changes_of(args.show)})
        return EXIT_OK
    if args.json:
        emit_json([r.as_dict() for r in records])
    else:
        sys.stdout.write(history_text(records))
    return EXIT_OK


def cmd_rollback(args: argparse.Namespace) -> int:
    from reconciler import operations as ops
    from reconciler.rollback import rollback_target

    state_dir = _state_dir(args)
    store = ops.open_store(state_dir)
    target = rollback_target(store, args.to)
    args.file = args.fleet = None
    backend = ops.target_backend(args.backend, state_dir, target, root=args.root)
    secrets = _secrets(args)
    with ops.locked(store):
        plan = ops.compute_plan(target, backend, store, secrets)
        _print_plan(plan, False)
        if _refused(plan, args.force) or not plan.changes:
            return EXIT_ERROR if plan.refusals and not args.force else EXIT_OK
        if not args.yes and not _confirm(plan):
            return EXIT_ERROR
        result = ops.run_apply(target, plan, backend, store, secrets)
    if result.status != "applied":
        _err(f"rollback stopped: {result.error}.")
        return EXIT_ERROR
    print(f"Rolled back to the spec of apply #{target.source.rpartition('#')[2]}.")
    return EXIT_OK


def cmd_sim(args: argparse.Namespace) -> int:
    from reconciler.drivers.sim.backend import SimBackend

    sim = SimBackend.open(_state_dir(args), args.model)
    if args.sim_command == "set":
        from reconciler.loader import parse_documents

        docs = parse_documents(args.value, "<value>")
        sim.set_out_of_band(args.path, docs[0].data if docs else None)
        print(f"set {args.path} on the simulated device (out of band)")
    elif args.sim_command == "fault":
        sim.inject_fault(args.area, args.mode)
        print(f"fault injected: {args.area} fails {args.mode}")
    elif args.sim_command == "reset":
        sim.reset()
        print("simulated device reset to factory defaults")
    return EXIT_OK


# --- parser -----------------------------------------------------------------------------


def _add_target_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    g = p.add_argument_group("which spec")
    g.add_argument("--file", "-f", help="a Device YAML file")
    g.add_argument("--fleet", help="a fleet repo root (with --device)")
    g.add_argument("--device", help="device name in the fleet repo")
    _add_backend_args(p)
    p.add_argument(
        "--secrets-dir", help="directory of secret files, mode 0600 (default: STATE/secrets)"
    )


def _add_backend_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default="sim", choices=BACKENDS, help="default: sim")
    p.add_argument(
        "--state-dir",
        help="state directory (default: /var/lib/reconciler as root, else the XDG state dir)",
    )
    p.add_argument(
        "--root",
        metavar="DIR",
        help="linux backend: manage the files of the tree under DIR (an image before first "
        "boot); commands that act on the live host are refused",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reconcile",
        description="GitOps reconciler for industrial edge devices: validate, plan, apply.",
    )
    parser.add_argument("--version", action="version", version=f"reconcile {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("validate", help="validate spec files or directories")
    p.add_argument("paths", nargs="+", metavar="PATH", help="YAML files or directories")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="write JSON Schemas for editors and CI")
    p.add_argument("--out", default="schemas", help="output directory (default: schemas/)")
    p.set_defaults(func=cmd_schema)

    for name, func, text in (
        ("plan", cmd_plan, "show what apply would change (exit 0 none, 2 changes, 1 error)"),
        ("apply", cmd_apply, "change the device to match the spec"),
    ):
        p = sub.add_parser(name, help=text, description=text)
        _add_target_args(p)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.add_argument("--force", action="store_true", help="override self-lockout refusals")
        if name == "apply":
            p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
        p.set_defaults(func=func)

    p = sub.add_parser("observe", help="print the device's actual state")
    _add_target_args(p)
    p.add_argument("--model", help="hardware model of a new simulated device")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_observe)

    p = sub.add_parser("history", help="list recorded applies")
    _add_backend_args(p)
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--show", type=int, metavar="ID", help="one apply's plan and per-change results")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("rollback", help="re-apply the spec of an earlier successful apply")
    _add_backend_args(p)
    p.add_argument("--to", type=int, metavar="ID", help="apply to return to (default: previous)")
    p.add_argument("--secrets-dir")
    p.add_argument("--yes", "-y", action="store_true")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_rollback)

    p = sub.add_parser("sim", help="the simulated device: drift and fault injection")
    p.add_argument("--state-dir")
    p.add_argument("--model", help="hardware model of a new simulated device")
    simsub = p.add_subparsers(dest="sim_command", required=True)
    q = simsub.add_parser("set", help="change the device out of band (drift)")
    q.add_argument("path", help="dotted path, e.g. watchdog.timeoutSeconds")
    q.add_argument("value", help="YAML value, e.g. 30 or '{direction: input}'")
    q = simsub.add_parser("fault", help="make the next apply of an area fail")
    q.add_argument("area")
    q.add_argument("mode", choices=("once", "always", "ignore", "clear"))
    simsub.add_parser("reset", help="back to factory defaults")
    p.set_defaults(func=cmd_sim)

    from reconciler.agent.cli import add_agent_parsers
    from reconciler.api.cli import add_serve_parser
    from reconciler.fleet.cli import add_fleet_parser

    add_fleet_parser(sub)
    add_agent_parsers(sub)
    add_serve_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_ERROR
    from reconciler.loader import SpecError
    from reconciler.operations import OperationError

    try:
        return int(args.func(args))
    except SpecError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_ERROR
    except OperationError as exc:
        _err(f"{exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _err("interrupted.")
        return 130
    except BrokenPipeError:  # `reconcile plan --json | head`
        sys.stderr.close()
        return EXIT_ERROR
    except Exception as exc:  # the last resort: one sentence, never a traceback
        if os.environ.get("RECONCILER_DEBUG"):
            raise
        _err(
            f"unexpected {type(exc).__name__}: {exc} "
            "(this is a bug; RECONCILER_DEBUG=1 shows the details)"
        )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
