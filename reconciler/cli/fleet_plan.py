"""`reconcile fleet plan`: argument parsing and output only (reconciler.fleet.fleet_plan)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.cli.fleet_status import add_broker_options, broker_options, parse_selector

if TYPE_CHECKING:
    from reconciler.fleet.fleet_plan import DevicePlan
    from reconciler.fleet.render import RenderedDevice


def arguments_plan(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", help="the fleet root")
    add_broker_options(p)
    p.add_argument("--rev", metavar="REV", help="plan the repo at REV (default: the work tree)")
    p.add_argument("--selector", action="append", metavar="K=V", help="only matching devices")
    p.add_argument(
        "--format",
        choices=("text", "json", "markdown"),
        default="text",
        help="text (default), json, or markdown for a pull request comment",
    )


def _rendered(args: argparse.Namespace, selector: dict[str, str]) -> list[RenderedDevice]:
    from reconciler.fleet.diff import source_at
    from reconciler.fleet.documents import device_files, load_repo
    from reconciler.fleet.render import Renderer

    with source_at(args.dir, args.rev) as (source, _commit):
        renderer = Renderer(load_repo(source))
        rels, _problems = device_files(source)
        out = [renderer.render(rel) for rel in rels]
    return [r for r in out if all(r.labels.get(k) == v for k, v in selector.items())]


def cmd_plan(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from reconciler.fleet.broker import read_retained
    from reconciler.fleet.fleet_plan import STATE_LEAF, StateReports, plan_device, summary
    from reconciler.fleet.status import Reports, device_of, status_topic
    from reconciler.secrets import SecretResolver

    devices = _rendered(args, parse_selector(args.selector))
    states, statuses = StateReports(), Reports()

    def on_message(topic: str, payload: bytes) -> None:
        if (name := device_of(topic, args.prefix)) is not None:
            statuses.record(name, payload)
        elif (name := device_of(topic, args.prefix, STATE_LEAF)) is not None:
            states.record(name, payload)

    topics = [status_topic(args.prefix), status_topic(args.prefix, STATE_LEAF)]
    read_retained(broker_options(args), args.prefix, topics, on_message).close()
    now = datetime.now(UTC)
    secrets = SecretResolver(Path(args.secrets_dir) if args.secrets_dir else None)
    plans = [
        plan_device(d, states.last.get(d.name or ""), statuses.last.get(d.name or ""), secrets, now)
        for d in devices
    ]
    counts = summary(plans)
    if args.format == "json":
        out = {"rev": args.rev, "devices": [p.as_json() for p in plans], "summary": counts}
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write((markdown if args.format == "markdown" else text)(plans, counts))
    if any(p.problem and p.problem.startswith("invalid spec") for p in plans):
        return 1
    return 2 if counts["withChanges"] else 0


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "no state"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"state {seconds / size:.0f}{unit} old"
    return f"state {max(seconds, 0):.0f}s old"


def _flags(p: DevicePlan) -> str:
    online = {True: "online", False: "OFFLINE", None: "never reported"}[p.online]
    return ", ".join([online, _age(p.state_age_s), *(["DRIFTED"] if p.drifted else [])])


def text(plans: list[DevicePlan], counts: dict[str, int]) -> str:
    from reconciler.output import Painter, plan_text

    lines: list[str] = []
    for p in plans:
        lines.append(f"== {p.name} ({_flags(p)})")
        if p.plan is None:
            lines.append(f"   no plan: {p.problem}")
        else:
            lines.append(plan_text(p.plan, Painter(False)).rstrip("\n"))
            lines += [f"   REFUSED: {r}" for r in p.plan.refusals]
        lines.append("")
    lines.append(_summary_line(counts))
    return "\n".join(lines) + "\n"


def _summary_line(c: dict[str, int]) -> str:
    return (
        f"{c['devices']} devices: {c['withChanges']} with changes, {c['refused']} refused, "
        f"{c['withoutPlan']} without a plan, {c['drifted']} drifted, {c['offline']} offline"
    )


def markdown(plans: list[DevicePlan], counts: dict[str, int]) -> str:
    """A table for a pull request comment, then each device's changes in a diff block."""
    from reconciler.output import Painter, change_line

    rows = [
        "| device | status | add | change | remove | risk | refused |",
        "|---|---|---|---|---|---|---|",
    ]
    details: list[str] = []
    for p in plans:
        if p.plan is None:
            rows.append(f"| `{p.name}` | {_flags(p)} | | | | | no plan: {p.problem} |")
            continue
        s = p.plan.summary
        risk = ", ".join(sorted({c.risk for c in p.plan.changes if c.risk != "none"})) or "-"
        refused = "; ".join(p.plan.refusals) or "-"
        rows.append(
            f"| `{p.name}` | {_flags(p)} | {s['add']} | {s['change']} | {s['remove']} "
            f"| {risk} | {refused} |"
        )
        if p.plan.changes:
            body = "\n".join(change_line(c, Painter(False)).strip() for c in p.plan.changes)
            details += [
                f"<details><summary>{p.name}</summary>",
                "",
                "```diff",
                body,
                "```",
                "</details>",
                "",
            ]
    return "\n".join([f"**fleet plan**: {_summary_line(counts)}", "", *rows, "", *details]) + "\n"
