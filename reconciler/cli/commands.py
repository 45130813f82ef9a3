"""Every `reconcile` command, registered here and nowhere else.

A command is a row: its name, its one-line help, the function that adds its own options
(shared ones come from `reconciler.cli.options`) and the handler that runs it; a command
with subcommands lists them. Adding a command is one row here plus its two functions in
the module of its area. The handler modules import nothing heavy at module level, so
building the parser stays cheap (`validate` and `plan` start fast).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from reconciler.cli import (
    agent,
    bundle,
    completion,
    device,
    fleet,
    fleet_plan,
    fleet_rollout,
    fleet_status,
    modbus,
    scaffold,
    serve,
    sim,
)

Handler = Callable[[argparse.Namespace], int]
Arguments = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    arguments: Arguments | None = None
    run: Handler | None = None
    description: str | None = None
    subcommands: tuple[Command, ...] = ()


_PLAN = "show what apply would change (exit 0 none, 2 changes, 1 error)"
_APPLY = "change the device to match the spec"
_SERVE = "serve the read-only status endpoint (portal read APIs, sync status, metrics)"

COMMANDS: tuple[Command, ...] = (
    Command(
        "init",
        "scaffold a fleet repo: fleet.yaml, a group, a device, secrets, CI",
        scaffold.arguments_init,
        scaffold.cmd_init,
        description="Create a fleet repo in DIR that `reconcile fleet validate` accepts: "
        "fleet.yaml, a site group, one device, a secrets directory with placeholders (kept "
        "out of Git), a CI workflow and a pre-commit config.",
    ),
    Command(
        "validate",
        "validate spec files or directories",
        device.arguments_validate,
        device.cmd_validate,
    ),
    Command(
        "schema",
        "write JSON Schemas for editors and CI",
        device.arguments_schema,
        device.cmd_schema,
    ),
    Command("plan", _PLAN, device.arguments_plan, device.cmd_plan, description=_PLAN),
    Command("apply", _APPLY, device.arguments_apply, device.cmd_apply, description=_APPLY),
    Command(
        "observe", "print the device's actual state", device.arguments_observe, device.cmd_observe
    ),
    Command("history", "list recorded applies", device.arguments_history, device.cmd_history),
    Command(
        "rollback",
        "re-apply the spec of an earlier successful apply",
        device.arguments_rollback,
        device.cmd_rollback,
    ),
    Command(
        "confirm",
        "keep the changes an `apply --confirm` left waiting (else they are reverted)",
        device.arguments_confirm,
        device.cmd_confirm,
    ),
    Command(
        "sim",
        "the simulated device: drift and fault injection",
        sim.arguments_sim,
        subcommands=(
            Command("set", "change the device out of band (drift)", sim.arguments_set, sim.cmd_set),
            Command(
                "fault", "make the next apply of an area fail", sim.arguments_fault, sim.cmd_fault
            ),
            Command("reset", "back to factory defaults", sim.arguments_reset, sim.cmd_reset),
        ),
    ),
    Command(
        "fleet",
        "the fleet repo: validate, render, explain, diff, status, plan, rollout waves",
        description="Work with a fleet repo: fleet.yaml (defaults), groups/*.yaml (label "
        "selectors, priorities) and devices/*.yaml, layered into each device's spec.",
        subcommands=(
            Command(
                "validate",
                "render and validate every device; exit 0 valid, 1 invalid",
                fleet.arguments_validate,
                fleet.cmd_validate,
                description="Render and validate every device of the fleet root DIR and check "
                "the repo (duplicate names, file names, policy, selectors). Every problem is "
                "reported, located in the file where the bad value was written. Exit 0 valid, "
                "1 invalid.",
            ),
            Command(
                "render",
                "print a device's effective spec as YAML",
                fleet.arguments_render,
                fleet.cmd_render,
                description="Print the effective Device document of DEVICE: fleet defaults, "
                "then its groups by priority, then its own file. Exit 1 (and print nothing) if "
                "it is invalid.",
            ),
            Command(
                "explain",
                "why a device has a value: every file and line that set or overrode it",
                fleet.arguments_explain,
                fleet.cmd_explain,
                description="Show the effective value at PATH (dotted, with or without "
                "'spec.'; list items by index or name, e.g. firewall.inbound.modbus.port) and "
                "the chain of layers that set it.",
            ),
            Command(
                "diff",
                "which devices' effective specs change between two revisions",
                fleet.arguments_diff,
                fleet.cmd_diff,
                description="Render every device at REV1 and REV2 (or, with --since REV, at "
                "REV and in the work tree) and list the devices whose effective spec changes, "
                "leaf by leaf. DIR may be a subdirectory of the git repository.",
            ),
            Command(
                "status",
                "every device's sync status from the broker, joined with the repo",
                fleet_status.arguments_status,
                fleet_status.cmd_status,
                description="Read the retained <P>/+/status messages the agents publish, join "
                "them with the fleet repo DIR and print one row per device plus a summary by "
                "state, Offline and Unknown (never reported). Exit 0 when every selected "
                "device is Synced on the newest commit (or --commit), else 1.",
            ),
            Command(
                "plan",
                "each device's plan against the observed state it last reported",
                fleet_plan.arguments_plan,
                fleet_plan.cmd_plan,
                description="Plan every selected device of DIR (or of --rev REV) against the "
                "retained <P>/<device>/state its agent published (cloud.mqtt.retain: true), "
                "with drifted and offline devices flagged and the state's age shown. Exit 0 "
                "no changes, 2 changes, 1 an invalid device.",
            ),
            *(
                Command(
                    action,
                    fleet_rollout.HELP[action],
                    fleet_rollout.arguments_decision,
                    handler,
                    description=f"Publish the fleet's decision on COMMIT, retained on "
                    f"<P>/fleet/rollout/<COMMIT>, for every agent's rollout gate: "
                    f"{fleet_rollout.EFFECT[action]}. Exit 0 once the broker has it, else 1.",
                )
                for action, handler in (
                    ("promote", fleet_rollout.cmd_promote),
                    ("pause", fleet_rollout.cmd_pause),
                    ("resume", fleet_rollout.cmd_resume),
                )
            ),
        ),
    ),
    Command(
        "bundle",
        "git bundles of the fleet repo for sites without a network to Git",
        description="Carry the fleet repo to an offline site: `bundle create` writes one "
        "branch as a git bundle (signatures kept); `reconcile agent --source bundle:PATH` "
        "applies it with the same checks as a Git remote.",
        subcommands=(
            Command(
                "create",
                "write a branch of the repo as a bundle file",
                bundle.arguments_create,
                bundle.cmd_create,
            ),
        ),
    ),
    Command(
        "agent",
        "run the GitOps agent: pull, plan, apply, keep reconciling",
        agent.arguments_agent,
        agent.cmd_agent,
        description="Reconcile this device continuously from a Git repo or a local directory.",
    ),
    Command("status", "the agent's sync status", agent.arguments_status, agent.cmd_status),
    Command(
        "suspend",
        "stop applying (drift still reported)",
        agent.arguments_suspend,
        agent.cmd_suspend,
    ),
    Command("resume", "apply again", agent.arguments_suspend, agent.cmd_suspend),
    Command(
        "serve",
        _SERVE,
        serve.arguments_serve,
        serve.cmd_serve,
        description=_SERVE[0].upper() + _SERVE[1:] + ".",
    ),
    Command(
        "modbus",
        "the Modbus slave and master of a spec",
        subcommands=(
            Command(
                "serve",
                "run the Modbus service of a spec alone",
                modbus.arguments_serve,
                modbus.cmd_serve,
                description="Serve the spec's Modbus slave zones and poll its master devices "
                "until interrupted; SIGHUP reloads the file.",
            ),
        ),
    ),
    Command(
        "completion",
        "print a bash or zsh completion script",
        completion.arguments_completion,
        completion.cmd_completion,
        description="Print a completion script for SHELL: `source <(reconcile completion "
        "bash)`, or save it to /etc/bash_completion.d/reconcile.",
    ),
)
