"""`reconcile fleet ...`: argument parsing and output only; the work is in `reconciler.fleet`.

Handlers take the parsed arguments and return the exit code. Problems go to stderr as
`FILE:LINE:COL: dotted.path: message`; any other failure is one sentence, never a traceback.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from reconciler.fleet.validate import Report
    from reconciler.loader import Problem
    from reconciler.spec.base import Loc

Handler = Callable[[argparse.Namespace], int]

_MAX_AFFECTED_SHOWN = 5


def _guard(handler: Handler) -> Handler:
    """Turn expected failures into located problems or one sentence on stderr, exit 1."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        from reconciler.loader import SpecError

        try:
            return handler(args)
        except SpecError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            return 1
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, and keep Python's final flush
            # from complaining about the closed pipe.
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        except OSError as exc:
            where = f" {exc.filename}" if exc.filename else ""
            print(f"error:{where} {exc.strerror or exc}", file=sys.stderr)
            return 1

    return run


def arguments_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", help="the fleet root (holds fleet.yaml)")
    p.add_argument(
        "--format",
        choices=("text", "json", "junit"),
        default="text",
        help="report format (default: text)",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write the json/junit report to FILE")
    p.add_argument(
        "-j", "--jobs", type=int, metavar="N", help="worker processes (default: one per CPU)"
    )
    p.add_argument("--strict", action="store_true", help="warnings make validation fail too")


def _device_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", help="the fleet root (holds fleet.yaml)")
    p.add_argument("device", metavar="DEVICE", help="the device's name")


def arguments_render(p: argparse.ArgumentParser) -> None:
    _device_arguments(p)
    p.add_argument(
        "--show-origin", action="store_true", help="comment each value with FILE:LINE (layer)"
    )
    p.add_argument("--json", action="store_true", help="JSON instead of YAML")
    p.add_argument(
        "--allow-invalid", action="store_true", help="print even if invalid (still exit 1)"
    )


def arguments_explain(p: argparse.ArgumentParser) -> None:
    _device_arguments(p)
    p.add_argument("path", metavar="PATH", help="dotted path, with or without 'spec.'")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def arguments_diff(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", help="the fleet root, or a directory inside it")
    p.add_argument("revs", nargs="*", metavar="REV", help="REV1 REV2")
    p.add_argument("--since", metavar="REV", help="compare REV with the work tree")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--exit-code", action="store_true", help="exit 2 when any device changes (else 0)"
    )


# --- validate -------------------------------------------------------------------------


def _with_affected(problem: Problem, devices: list[str] | None) -> str:
    """A group's problem names the devices it breaks (first few, then a count)."""
    text = str(problem)
    if devices:
        shown = ", ".join(devices[:_MAX_AFFECTED_SHOWN])
        more = len(devices) - _MAX_AFFECTED_SHOWN
        noun = "device" if len(devices) == 1 else "devices"
        text += f" [{len(devices)} {noun}: {shown}{f', +{more} more' if more > 0 else ''}]"
    return text


def _report_json(report: Report) -> str:
    """The stable JSON report: verdict, counts, problems (with affected devices)."""
    problems = []
    for p in report.problems:
        item = p.as_dict()
        if p in report.affected:
            item["devices"] = report.affected[p]
        problems.append(item)
    out = {
        "root": report.root,
        "valid": report.valid,
        "devices": len(report.devices),
        "groups": len(report.groups),
        "errors": len(report.errors),
        "warnings": len(report.warnings),
        "problems": problems,
    }
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"


def _report_junit(report: Report) -> str:
    """One test case per file (fleet.yaml, each group, each device); failures list problems."""
    import xml.etree.ElementTree as ET

    by_file: dict[str, list[Problem]] = {}
    for p in report.problems:
        by_file.setdefault(p.file, []).append(p)
    cases: list[tuple[str, str, list[Problem]]] = []
    claimed: set[str] = set()
    cases.append(("fleet", report.fleet_file, by_file.get(report.fleet_file, [])))
    claimed.add(report.fleet_file)
    for file, name in sorted(report.group_files.items(), key=lambda kv: kv[1]):
        cases.append(("groups", name, by_file.get(file, [])))
        claimed.add(file)
    names: set[str] = set()
    for device in report.devices:
        found = {*device.problems, *by_file.get(device.file, [])}
        name = device.name or device.rel
        if name in names:
            name = f"{name} ({device.rel})"
        names.add(name)
        cases.append(("devices", name, sorted(found)))
        claimed.add(device.file)
    rest = sorted(p for f, ps in by_file.items() if f not in claimed for p in ps)
    if rest:
        cases.append(("repo", report.root, rest))

    suite = ET.Element("testsuite", name="reconcile fleet validate")
    failures = 0
    for classname, name, problems in cases:
        case = ET.SubElement(suite, "testcase", classname=classname, name=name)
        errors = [p for p in problems if p.severity == "error"]
        warnings = [p for p in problems if p.severity != "error"]
        if errors:
            failures += 1
            failure = ET.SubElement(
                case,
                "failure",
                message=str(errors[0]) + (f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""),
                type="ValidationError",
            )
            failure.text = "\n".join(str(p) for p in errors)
        if warnings:
            ET.SubElement(case, "system-out").text = "\n".join(str(p) for p in warnings)
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suites = ET.Element("testsuites", tests=str(len(cases)), failures=str(failures))
    suites.append(suite)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _write(text: str, output: str | None, stream: TextIO) -> None:
    """Reports go to stdout, or to a file CI keeps as an artifact."""
    if output is None:
        stream.write(text)
        return
    from pathlib import Path

    Path(output).write_text(text, encoding="utf-8")


def _progress_bar() -> Callable[[int, int], None]:
    """`checked N/M devices` on stderr, rewritten in place, on a terminal only."""
    if not sys.stderr.isatty():
        return lambda done, total: None

    def show(done: int, total: int) -> None:
        print(f"checked {done}/{total} devices", end="\r", file=sys.stderr, flush=True)

    return show


@_guard
def cmd_validate(args: argparse.Namespace) -> int:
    """Validate a fleet root; problems to stderr (text) or a report to stdout/--output."""
    from reconciler.fleet.validate import validate_fleet

    if args.jobs is not None and args.jobs < 1:
        print("error: --jobs needs a number of at least 1", file=sys.stderr)
        return 1
    report = validate_fleet(args.dir, jobs=args.jobs, progress=_progress_bar())
    if sys.stderr.isatty():
        print("\x1b[K", end="", file=sys.stderr)  # the progress line, gone
    failed = not report.valid or (args.strict and bool(report.warnings))
    if args.format == "json":
        _write(_report_json(report), args.output, sys.stdout)
    elif args.format == "junit":
        _write(_report_junit(report), args.output, sys.stdout)
    else:
        for p in report.problems:
            print(_with_affected(p, report.affected.get(p)), file=sys.stderr)
        verdict = "invalid" if failed else "valid"
        print(
            f"{report.root}: {len(report.devices)} devices, {len(report.groups)} groups: "
            f"{len(report.errors)} errors, {len(report.warnings)} warnings: {verdict}"
        )
    return 1 if failed else 0


# --- render / explain -------------------------------------------------------------------


def _layer_text(layer: str, priorities: dict[str, int | None]) -> str:
    """How a layer is named to people: groups with their priority."""
    if layer.startswith("group:"):
        return f"group {layer[6:]}, priority {priorities.get(layer)}"
    return "fleet defaults" if layer == "fleet" else layer


def _with_origins(value: Any, loc: Loc, merged: Any) -> Any:
    """ruamel containers carrying an end-of-line comment with each value's origin."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    def note(at: Loc) -> str | None:
        chain = merged.provenance.get(at)
        if not chain:
            return None
        o = chain[-1]
        return f"@ {o.file}:{o.line} ({_layer_text(o.layer, merged.priorities)})"

    if isinstance(value, dict):
        cm = CommentedMap()
        for key, child in value.items():
            cm[key] = _with_origins(child, (*loc, key), merged)
            text = note((*loc, key))
            if text:
                cm.yaml_add_eol_comment(text, key)
        return cm
    if isinstance(value, list):
        seq = CommentedSeq()
        for i, child in enumerate(value):
            seq.append(_with_origins(child, (*loc, i), merged))
            text = note((*loc, i))
            if text and not isinstance(child, dict | list):
                seq.yaml_add_eol_comment(text, i)
        return seq
    return value


_ORIGIN_MARK = "# @ "
_MAX_COMMENT_COLUMN = 64


def dump_yaml(data: Any, stream: TextIO) -> None:
    """Block-style YAML, lists indented under their key, long lines kept whole."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.default_flow_style = False
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    yaml.dump(data, stream)


def _align_comments(text: str) -> str:
    """Put the origin comments in one column (ruamel spaces them unevenly)."""
    rows = []
    for line in text.splitlines():
        body, mark, comment = line.rpartition(_ORIGIN_MARK)
        rows.append((body.rstrip(), comment.strip()) if mark else (line, ""))
    column = min(_MAX_COMMENT_COLUMN, max((len(b) for b, c in rows if c), default=0))
    out = [f"{body.ljust(column)}  # {comment}" if comment else body for body, comment in rows]
    return "\n".join(out) + "\n"


@_guard
def cmd_render(args: argparse.Namespace) -> int:
    """Print one device's effective document; nothing on stdout if it is invalid."""
    from reconciler.fleet.render import render_fleet_device
    from reconciler.loader import dotted

    rendered = render_fleet_device(args.dir, args.device)
    errors = [p for p in rendered.problems if p.severity == "error"]
    for p in rendered.problems:
        print(p, file=sys.stderr)
    if rendered.merged is None or (errors and not args.allow_invalid):
        if errors:
            print(
                f"error: device {args.device!r} is invalid ({len(errors)} problems); "
                "nothing rendered",
                file=sys.stderr,
            )
        return 1
    merged = rendered.merged
    if args.json:
        out: dict[str, Any] = {"device": merged.data}
        if args.show_origin:
            out["origins"] = {
                dotted(loc): [
                    {"file": o.file, "line": o.line, "col": o.col, "layer": o.layer} for o in chain
                ]
                for loc, chain in merged.provenance.items()
                if loc
            }
        print(json.dumps(out, indent=2, ensure_ascii=False, default=str))
    else:
        if args.show_origin:
            import io

            groups = ", ".join(g.name for g in rendered.groups) or "none"
            buffer = io.StringIO()
            dump_yaml(_with_origins(merged.data, (), merged), buffer)
            sys.stdout.write(f"# effective spec of {args.device}; groups: {groups}\n")
            sys.stdout.write(_align_comments(buffer.getvalue()))
        else:
            dump_yaml(merged.data, sys.stdout)
    return 1 if errors else 0


@_guard
def cmd_explain(args: argparse.Namespace) -> int:
    """Print a value and the layers that set, merged, overrode or removed it."""
    from reconciler.fleet.explain import explain_device
    from reconciler.fleet.merge import short

    found = explain_device(args.dir, args.device, args.path)
    if args.json:
        print(json.dumps(found.as_dict(), indent=2, ensure_ascii=False, default=str))
        return 0
    print(f"{found.path} = {short(found.value)}" if found.found else f"{found.path}: removed")
    priorities = {s.layer: s.priority for s in found.steps}
    width = max(len(f"{s.file}:{s.line}:{s.col}") for s in found.steps)
    for n, step in enumerate(found.steps):
        where = f"{step.file}:{step.line}:{step.col}".ljust(width)
        layer = _layer_text(step.layer, priorities)
        what = "null" if step.action == "remove" else short(step.value)
        mark = "  <- in effect" if n == len(found.steps) - 1 and found.found else ""
        print(f"  {step.action:<8} {where}  {layer}: {what}{mark}")
    return 0


# --- diff -------------------------------------------------------------------------------


@_guard
def cmd_diff(args: argparse.Namespace) -> int:
    """Print the devices whose effective spec differs between two revisions."""
    from reconciler.fleet.diff import diff_revisions
    from reconciler.fleet.merge import short

    if args.since is not None:
        if args.revs:
            print("error: give either REV1 REV2 or --since REV, not both", file=sys.stderr)
            return 1
        rev1, rev2 = args.since, None
    elif len(args.revs) == 2:
        rev1, rev2 = args.revs
    else:
        print("error: give two revisions (REV1 REV2) or --since REV", file=sys.stderr)
        return 1
    result = diff_revisions(args.dir, rev1, rev2)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        for side in (result.before, result.after):
            for p in side.problems:
                print(f"{p} (at {side.label})", file=sys.stderr)
        total = max(result.before.devices, result.after.devices)
        title = f"{result.before.label}..{result.after.label}"
        if not result.devices:
            print(f"{title}: no device's effective spec changes ({total} devices)")
        else:
            print(f"{title}: {len(result.devices)} of {total} devices change")
        marks = {"added": "+", "removed": "-", "changed": "~"}
        for device in result.devices:
            extra = ""
            if device.groups_before != device.groups_after and device.status == "changed":
                extra = (
                    f" (groups: {', '.join(device.groups_before) or '-'} -> "
                    f"{', '.join(device.groups_after) or '-'})"
                )
            suffix = f" ({device.status})" if device.status != "changed" else ""
            print(f"{marks[device.status]} {device.name}{suffix}{extra}")
            if device.status != "changed":
                continue
            for change in device.changes:
                if change.op == "add":
                    print(f"    + {change.path}: {short(change.after)}")
                elif change.op == "remove":
                    print(f"    - {change.path}: {short(change.before)}")
                else:
                    print(f"    ~ {change.path}: {short(change.before)} -> {short(change.after)}")
    return 2 if args.exit_code and result.devices else 0
