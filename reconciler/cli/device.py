"""`reconcile validate | schema | plan | apply | observe | history | rollback`: parsing and
output only; the work is done elsewhere (the apply workflow in `reconciler.workflow`).

Errors are one located line per problem (`FILE:LINE:COL: path: message`) or one sentence,
never a traceback. Exit codes: 0 ok, 1 error; `plan` exits 2 when there are changes.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from reconciler.cli import options

if TYPE_CHECKING:
    from pathlib import Path

    from reconciler.engine.change import Plan
    from reconciler.engine.store import Store
    from reconciler.operations import Target
    from reconciler.workflow import Outcome

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


# --- each command's own options (shared ones: reconciler.cli.options) ---------------


def arguments_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="YAML files or directories")
    p.add_argument(
        "--format", choices=("text", "json"), default="text", help="report format (default: text)"
    )


def arguments_schema(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="schemas", help="output directory (default: schemas/)")


def arguments_plan(p: argparse.ArgumentParser) -> None:
    options.add_device_options(p)
    options.add_root(p)
    options.add_json(p)
    p.add_argument("--force", action="store_true", help="override self-lockout refusals")

    g = p.add_argument_group("agentless fleet (--fleet DIR --all)")
    g.add_argument(
        "--all", action="store_true", help="every device of --fleet with metadata.connection"
    )
    g.add_argument(
        "--selector", action="append", metavar="K=V", help="only devices with this label"
    )
    g.add_argument(
        "--concurrency", type=int, default=20, metavar="N", help="devices at once (default: 20)"
    )


def arguments_apply(p: argparse.ArgumentParser) -> None:
    arguments_plan(p)
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--confirm",
        type=options.number_in(1, 86400),
        metavar="SECONDS",
        help="commit-confirmed: changes that can cut connectivity are reverted after SECONDS "
        "unless `reconcile confirm` runs (from a new session, over the new path)",
    )


def arguments_confirm(p: argparse.ArgumentParser) -> None:
    options.add_state_dir(p)
    options.add_json(p)


def arguments_observe(p: argparse.ArgumentParser) -> None:
    options.add_device_options(p)
    options.add_root(p)
    p.add_argument("--model", help="hardware model of a new simulated device")
    options.add_json(p, "the observed state as JSON (secrets redacted)")


def arguments_history(p: argparse.ArgumentParser) -> None:
    options.add_backend(p)
    options.add_state_dir(p)
    options.add_json(p)
    p.add_argument(
        "--limit", type=int, default=50, metavar="N", help="newest N applies (default: 50)"
    )
    p.add_argument("--show", type=int, metavar="ID", help="one apply's plan and per-change results")


def arguments_rollback(p: argparse.ArgumentParser) -> None:
    options.add_backend(p)
    options.add_root(p)
    options.add_state_dir(p)
    p.add_argument("--to", type=int, metavar="ID", help="apply to return to (default: previous)")
    options.add_secrets_dir(p)
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--force", action="store_true", help="override self-lockout refusals")


def _backend(args: argparse.Namespace, target: Target) -> Any:
    from reconciler import operations as ops

    state_dir = options.state_dir(args)
    portal = options.portal(args)
    secrets = options.secrets(args)
    return ops.target_backend(args.backend, state_dir, target, portal, secrets, args.root)


def cmd_fleet_all(args: argparse.Namespace, apply: bool) -> int:
    """`plan|apply --fleet DIR --all`: every selected device with a connection."""
    import asyncio
    from pathlib import Path

    from reconciler.errors import OperationError
    from reconciler.fleet import agentless
    from reconciler.output import emit_json

    if not args.fleet or args.device or args.file:
        raise OperationError("--all needs --fleet DIR (and no --device or --file)")
    if apply and not args.yes:
        raise OperationError("apply --all changes every selected device: pass --yes to go ahead")
    if args.concurrency < 1:
        raise OperationError("--concurrency must be at least 1")
    targets = agentless.select_targets(Path(args.fleet), agentless.parse_selector(args.selector))
    progress = _progress(len(targets)) if not args.json and sys.stderr.isatty() else None
    fleet = agentless.FleetRun(
        options.state_dir(args), options.secrets(args), args.concurrency, args.force,
        on_done=progress or (lambda run: None),
    )  # fmt: skip
    runs = asyncio.run(fleet.run(targets, apply))
    if progress is not None:
        sys.stderr.write("\n")
    if args.json:
        emit_json({"devices": [r.as_dict() for r in runs], "summary": agentless.summary(runs)})
    else:
        sys.stdout.write(agentless.table(runs))
    return agentless.exit_code(runs)


def _progress(total: int) -> Any:
    """A one-line progress bar on stderr (terminals only)."""
    done = [0]

    def tick(run: Any) -> None:
        done[0] += 1
        filled = 30 * done[0] // max(total, 1)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done[0]}/{total}")
        sys.stderr.flush()

    return tick


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
    from pathlib import Path

    from reconciler.schema import write_schemas

    for path in write_schemas(Path(args.out)):
        print(f"wrote {path}")
    return EXIT_OK


# --- plan / apply / observe -------------------------------------------------------------


def _print_plan(plan: Plan, as_json: bool) -> None:
    from reconciler.output import Painter, emit_json, plan_text, use_color

    if as_json:
        emit_json(plan.as_dict())
    else:
        sys.stdout.write(plan_text(plan, Painter(use_color(sys.stdout))))


def _print_refusals(plan: Plan, force: bool) -> None:
    """Lockout refusals: errors, or warnings when --force goes ahead anyway."""
    for reason in plan.refusals:
        if force:
            print(f"warning: --force given, going ahead although {reason}.", file=sys.stderr)
        else:
            _err(f"refusing this plan: {reason} (use --force to override).")


def cmd_plan(args: argparse.Namespace) -> int:
    from reconciler import operations as ops

    if args.all:
        return cmd_fleet_all(args, apply=False)
    target = options.target(args)
    state_dir = options.state_dir(args)
    backend = _backend(args, target)
    store = ops.open_store(state_dir)
    plan = ops.compute_plan(target, backend, store, options.secrets(args))
    _print_plan(plan, args.json)
    _print_refusals(plan, args.force)
    if plan.refusals and not args.force:
        return EXIT_ERROR
    return EXIT_CHANGES if plan.changes else EXIT_OK


def _confirm(plan: Plan) -> bool:
    """Ask on a terminal; only 'yes' goes ahead. Ctrl-D (end of input) cancels too."""
    if not sys.stdin.isatty():
        _err("refusing to apply without confirmation: stdin is not a terminal; pass --yes.")
        return False
    try:
        answer = input(f"Apply {len(plan)} change(s) to {plan.device}? Only 'yes' is accepted: ")
    except EOFError:
        answer = ""
        print()
    if answer.strip() != "yes":
        print("Apply cancelled.")
        return False
    return True


def _run_workflow(
    args: argparse.Namespace, target: Target, store: Store, show_plan: bool
) -> Outcome:
    """The apply workflow with this command's options, prompt and output."""
    from reconciler.workflow import apply_target

    def on_plan(plan: Plan) -> None:
        if show_plan:
            _print_plan(plan, False)
        _print_refusals(plan, args.force)

    return apply_target(
        target,
        _backend(args, target),
        store,
        options.secrets(args),
        force=args.force,
        confirm=None if args.yes else _confirm,
        on_plan=on_plan,
        hand_confirm=getattr(args, "confirm", None),
    )


def cmd_apply(args: argparse.Namespace) -> int:
    from reconciler import operations as ops
    from reconciler.output import emit_json

    if args.all:
        if args.confirm is not None:
            _err("--confirm works on one device at a time, not with --all.")
            return EXIT_ERROR
        return cmd_fleet_all(args, apply=True)
    target = options.target(args)
    store = ops.open_store(options.state_dir(args))
    outcome = _run_workflow(args, target, store, show_plan=not args.json)
    result = outcome.result
    waiting = _awaiting(options.state_dir(args), result.apply_id if result else None)
    if result is None:
        if args.json and outcome.status == "unchanged":
            emit_json({"plan": outcome.plan.as_dict(), "result": {"status": "unchanged"}})
        return EXIT_OK if outcome.ok else EXIT_ERROR
    if args.json:
        emit_json(
            {
                "plan": outcome.plan.as_dict(),
                "result": {
                    "status": result.status,
                    "applyId": result.apply_id,
                    "applied": result.applied,
                    "error": result.error,
                    "awaitingConfirm": waiting,
                },
            }
        )
    elif outcome.status == "applied":
        print(f"Apply complete: {result.applied} change(s) applied (history #{result.apply_id}).")
        for entry in waiting:
            print(
                f"{entry['area']} is reverted at {entry['deadline']} unless "
                "`reconcile confirm` runs before then (from a new session)."
            )
    if outcome.status != "applied":
        _err(
            f"apply #{result.apply_id} stopped after {result.applied} change(s): {result.error}. "
            "The next apply continues from the device's current state."
        )
        return EXIT_ERROR
    return EXIT_OK


def _awaiting(state_dir: Path, apply_id: int | None) -> list[dict[str, Any]]:
    """The areas of apply `apply_id` that wait for `reconcile confirm`, with their deadline."""
    from reconciler.engine.safe import awaiting
    from reconciler.syncstatus import iso

    return [
        {"area": e["area"], "deadline": iso(e["deadline"])}
        for e in awaiting(state_dir)
        if e["applyId"] == apply_id
    ]


def cmd_confirm(args: argparse.Namespace) -> int:
    """Keep every change an `apply --confirm` left waiting; exit 1 when nothing waits."""
    from reconciler.engine.safe import confirm_by_hand
    from reconciler.output import emit_json

    kept = confirm_by_hand(options.state_dir(args))
    if args.json:
        emit_json({"confirmed": [{"area": e["area"], "applyId": e["applyId"]} for e in kept]})
    else:
        for entry in kept:
            print(f"Confirmed: {entry['area']} of apply #{entry['applyId']} is kept.")
    if not kept:
        _err(
            "nothing waits for confirmation: no `apply --confirm` is pending, or its window "
            "ended and the change was reverted (see `reconcile history`)."
        )
        return EXIT_ERROR
    return EXIT_OK


def cmd_observe(args: argparse.Namespace) -> int:
    from reconciler import operations as ops
    from reconciler.output import emit_json, observed_text, redact_observed

    model = None
    if args.file or args.fleet:
        model = options.target(args).spec.metadata.model
    backend = ops.open_backend(
        args.backend,
        options.state_dir(args),
        model or args.model,
        portal=options.portal(args),
        secrets=options.secrets(args),
        root=args.root,
    )
    observed = backend.observe_all()
    if args.json:
        emit_json(redact_observed(observed))
    else:
        sys.stdout.write(observed_text(observed))
    return EXIT_OK


# --- history / rollback -----------------------------------------------------------------


def cmd_history(args: argparse.Namespace) -> int:
    from reconciler import operations as ops
    from reconciler.output import emit_json, history_text

    store = ops.open_store(options.state_dir(args))
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

    store = ops.open_store(options.state_dir(args))
    point = rollback_target(store, args.to)
    outcome = _run_workflow(args, point.target, store, show_plan=True)
    if outcome.result is None:
        return EXIT_OK if outcome.ok else EXIT_ERROR
    if outcome.status != "applied":
        _err(f"rollback stopped: {outcome.result.error}.")
        return EXIT_ERROR
    print(f"Rolled back to the spec of apply #{point.apply_id}.")
    return EXIT_OK
