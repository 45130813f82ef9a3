"""`reconcile fleet promote|pause|resume COMMIT`: argument parsing and output only. The
decision is one retained message (reconciler.fleet.waves has its format) that every
agent's rollout gate reads on its next pass."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import TYPE_CHECKING

from reconciler.cli.fleet_status import add_broker_options, broker_options
from reconciler.cli.options import add_json

if TYPE_CHECKING:
    from reconciler.fleet.waves import Action

_COMMIT = re.compile(r"^[0-9a-fA-F]{4,64}$")
EFFECT = {
    "promote": "every wave may take it now",
    "pause": "no device that has not applied it yet takes it",
    "resume": "the rollout waves decide again",
}
HELP = {
    "promote": "rollout waves: let every wave take COMMIT now",
    "pause": "rollout waves: stop COMMIT reaching devices that have not applied it",
    "resume": "rollout waves: undo a pause of COMMIT (the waves decide again)",
}


def arguments_decision(p: argparse.ArgumentParser) -> None:
    p.add_argument("commit", metavar="COMMIT", help="the commit (full or abbreviated hash)")
    add_broker_options(p)
    add_json(p)


def _publish(action: Action, args: argparse.Namespace) -> int:
    from reconciler.errors import OperationError
    from reconciler.fleet.broker import publish_retained
    from reconciler.fleet.waves import decision_payload, decisions_topic
    from reconciler.services.mqtt.messages import stamp

    if not _COMMIT.match(args.commit):
        raise OperationError(f"COMMIT {args.commit!r}: expected a commit hash (4..64 hex digits)")
    commit = args.commit.lower()
    topic = decisions_topic(args.prefix, commit)
    payload = decision_payload(action, commit, stamp())
    publish_retained(broker_options(args), topic, payload)
    if args.json:
        print(json.dumps({"topic": topic, "message": json.loads(payload)}))
    else:
        print(f"{action}: commit {commit[:12]}: {EFFECT[action]} (retained on {topic})")
    sys.stdout.flush()
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    return _publish("promote", args)


def cmd_pause(args: argparse.Namespace) -> int:
    return _publish("pause", args)


def cmd_resume(args: argparse.Namespace) -> int:
    return _publish("resume", args)
