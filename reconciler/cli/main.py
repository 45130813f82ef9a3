"""`reconcile`: the parser built from the command table, and the one place errors meet the user.

Errors are one located line per problem (`FILE:LINE:COL: path: message`) or one sentence,
never a traceback. Exit codes: 0 ok, 1 error, 2 usage error (and `plan`'s "changes").
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from typing import Any

from reconciler import __version__
from reconciler.cli.commands import COMMANDS, Command
from reconciler.startup import skip_pydantic_plugin_discovery

EXIT_OK, EXIT_ERROR = 0, 1


class Parser(argparse.ArgumentParser):
    """argparse with a did-you-mean for mistyped commands and choices."""

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        choices = action.choices
        if choices is not None and value not in choices:
            close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
            if close:
                raise argparse.ArgumentError(
                    action, f"invalid choice: {value!r}; did you mean {close[0]!r}?"
                )
        super()._check_value(action, value)


def _register(
    sub: argparse._SubParsersAction[Parser], command: Command, arguments: bool = True
) -> None:
    p = sub.add_parser(command.name, help=command.help, description=command.description)
    if not arguments:
        return  # listed in the help only: this run is another command's
    if command.arguments is not None:
        command.arguments(p)
    if command.run is not None:
        p.set_defaults(func=command.run)
    if command.subcommands:
        nested = p.add_subparsers(
            dest=f"{command.name}_command", metavar="COMMAND", required=True, parser_class=Parser
        )
        for child in command.subcommands:
            _register(nested, child)


def build_parser(only: str | None = None) -> Parser:
    """The whole command line, from `reconciler.cli.commands.COMMANDS`; with `only`, the
    other commands' arguments are left out (a run parses one command: faster start)."""
    parser = Parser(
        prog="reconcile",
        description="GitOps reconciler for industrial edge devices: validate, plan, apply.",
    )
    parser.add_argument("--version", action="version", version=f"reconcile {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        _register(sub, command, only is None or command.name == only)
    return parser


def _command_named(argv: list[str]) -> str | None:
    """The command this run names first, when it is one (else the whole parser reports)."""
    if argv and argv[0] in {c.name for c in COMMANDS}:
        return argv[0]
    return None


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    skip_pydantic_plugin_discovery()
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(only=_command_named(argv))
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
