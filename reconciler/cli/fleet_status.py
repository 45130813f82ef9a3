"""`reconcile fleet status`: argument parsing and output only; the join is in
reconciler.fleet.status, the broker in reconciler.fleet.broker (imported when run: paho
and the fleet models stay out of every other command's start)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from reconciler.cli.options import add_json, add_secrets_dir

if TYPE_CHECKING:
    from reconciler.fleet.broker import BrokerOptions
    from reconciler.fleet.status import FleetStatus, Row

_SHORT = 12


def add_broker_options(p: argparse.ArgumentParser) -> None:
    """--broker and the uplink's TLS and credential options (the password is a secret)."""
    p.add_argument(
        "--broker", required=True, metavar="URL", help="mqtt://, mqtts://, ws://, wss://"
    )
    p.add_argument("--prefix", required=True, metavar="P", help="the uplinks' topicPrefix")
    p.add_argument("--username", help="MQTT user name")
    p.add_argument(
        "--password-secret",
        metavar="NAME",
        help="secret holding the password (--secrets-dir or RECONCILER_SECRET_<NAME>)",
    )
    add_secrets_dir(p)
    p.add_argument("--ca-cert", type=Path, metavar="FILE", help="CA bundle to verify the broker")
    p.add_argument("--client-cert", type=Path, metavar="FILE", help="client certificate (mTLS)")
    p.add_argument("--client-key", type=Path, metavar="FILE", help="its private key")
    p.add_argument("--insecure", action="store_true", help="do not verify the broker (lab only)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S", help="default 30")


def broker_options(args: argparse.Namespace) -> BrokerOptions:
    from reconciler.fleet.broker import BrokerOptions

    password = None
    if args.password_secret:
        from reconciler.secrets import SecretResolver

        try:
            given = Path(args.secrets_dir) if args.secrets_dir else None
            password = SecretResolver(given)(args.password_secret)
        except LookupError as exc:
            from reconciler.errors import OperationError

            raise OperationError(f"--password-secret: {exc}") from None
    return BrokerOptions(
        url=args.broker,
        username=args.username,
        password=password,
        ca_cert=args.ca_cert,
        client_cert=args.client_cert,
        client_key=args.client_key,
        insecure=args.insecure,
        timeout_s=args.timeout,
    )


def parse_selector(items: list[str] | None) -> dict[str, str]:
    from reconciler.errors import OperationError

    selector: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise OperationError(f"--selector {item!r}: expected KEY=VALUE")
        selector[key] = value
    return selector


def arguments_status(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", help="the fleet root")
    add_broker_options(p)
    p.add_argument("--selector", action="append", metavar="K=V", help="only matching devices")
    p.add_argument("--commit", metavar="C", help="the commit to count (default: the repo's HEAD)")
    add_json(p)
    p.add_argument("--watch", action="store_true", help="a live table until Ctrl-C")


def cmd_status(args: argparse.Namespace) -> int:
    from reconciler.fleet.broker import read_retained
    from reconciler.fleet.roster import read_roster
    from reconciler.fleet.status import Reports, device_of, fleet_status, status_topic

    roster = read_roster(args.dir)
    selector = parse_selector(args.selector)
    if args.commit:
        target: str | None = args.commit
    else:
        from reconciler.fleet.roster import newest_commit

        target = newest_commit(args.dir)
    reports = Reports()
    changed = [False]

    def on_message(topic: str, payload: bytes) -> None:
        device = device_of(topic, args.prefix)
        if device is not None and reports.record(device, payload):
            changed[0] = True

    expected = len(roster.selected(selector))
    progress = Progress(sys.stderr, expected, lambda: len(reports.last))
    topics = [status_topic(args.prefix)]
    reader = read_retained(broker_options(args), args.prefix, topics, on_message, progress.tick)
    progress.done()
    try:
        status = fleet_status(roster, selector, reports, target)
        show(status, args, sys.stdout)
        while args.watch:
            changed[0] = False
            reader.run_until(lambda: changed[0])
            status = fleet_status(roster, selector, reports, target)
            show(status, args, sys.stdout)
    except KeyboardInterrupt:
        pass
    finally:
        reader.close()
    if not status.devices:
        print("no device of the repo matches the selector", file=sys.stderr)
    return 0 if status.converged else 1


class Progress:
    """A one-line bar on a terminal while the retained messages arrive; silent otherwise."""

    def __init__(self, stream: TextIO, expected: int, count: Any) -> None:
        self.stream, self.expected, self.count = stream, expected, count
        self.enabled = stream.isatty()
        self._last = 0.0

    def tick(self) -> None:
        now = time.monotonic()
        if not self.enabled or now - self._last < 0.1:
            return
        self._last = now
        n = self.count()
        filled = int(30 * min(n, self.expected) / self.expected) if self.expected else 30
        bar = "#" * filled + "-" * (30 - filled)
        self.stream.write(f"\r[{bar}] {n} statuses received ({self.expected} in the repo)")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()


def show(status: FleetStatus, args: argparse.Namespace, out: TextIO) -> None:
    if args.json:
        out.write(json.dumps(status.as_json(), ensure_ascii=False) + "\n")
    else:
        if args.watch and out.isatty():
            out.write("\033[H\033[2J")
        out.write(status_text(status))
        if args.watch:
            out.write("\n")
    out.flush()


def _short(commit: str | None) -> str:
    return commit[:_SHORT] if commit else "-"


def _cells(row: Row) -> list[str]:
    online = {True: "yes", False: "no", None: "-"}[row.online]
    return [
        row.name,
        online,
        row.sync_state or ("Offline" if row.online is False else "Unknown"),
        _short(row.last_applied_commit),
        row.last_applied_at or "-",
        str(row.drift),
        str(row.waiting),
        ",".join(row.groups) or "-",
    ]


def table(rows: list[Row]) -> list[str]:
    head = ["NAME", "ONLINE", "STATE", "COMMIT", "APPLIED", "DRIFT", "WAITING", "GROUPS"]
    cells = [head, *(_cells(r) for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells
    ]


def status_text(status: FleetStatus) -> str:
    from reconciler.fleet.status import SUMMARY_KEYS

    lines = table(status.devices)
    summary = ", ".join(f"{k} {status.summary.get(k, 0)}" for k in SUMMARY_KEYS)
    extra = [k for k in status.summary if k not in SUMMARY_KEYS]
    summary += "".join(f", {k} {status.summary[k]}" for k in extra)
    lines += ["", f"{summary} (of {len(status.devices)} devices)"]
    if status.target is not None:
        lines.append(
            f"commit {_short(status.target)}: {status.on_target} of {len(status.devices)} "
            "devices run it"
        )
    held = [row for row in status.devices if row.held]
    if held:
        lines += ["", f"Held by the rollout waves ({len(held)}):"]
        lines += [f"  {row.name}: {row.held}" for row in held]
    lines += operation_lines(status)
    if status.not_in_repo:
        lines += ["", f"Reporting but not in the repo ({len(status.not_in_repo)}):"]
        lines += table(status.not_in_repo)
    return "\n".join(lines) + "\n"


def operation_lines(status: FleetStatus) -> list[str]:
    """One line per operation: how many devices report each result; the devices named where
    it failed or still runs (a reboot in progress), since those need a look."""
    tally = status.operation_tally()
    if not tally:
        return []
    lines = ["", f"Operations ({len(tally)}):"]
    for (name, action), results in sorted(tally.items()):
        counts = ", ".join(
            f"{result} {len(devices)}" for result, devices in sorted(results.items())
        )
        lines.append(f"  {name} ({action}): {counts}")
        for result in ("failed", "running"):
            if results.get(result):
                lines.append(f"    {result}: {', '.join(sorted(results[result]))}")
    return lines
