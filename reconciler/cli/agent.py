"""`reconcile agent | status | suspend | resume`: parsing and output only."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.cli import options
from reconciler.errors import OperationError

if TYPE_CHECKING:
    from reconciler.agent.loop import Agent, Outcome


def _listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return (host or "127.0.0.1").strip("[]"), int(port)


def cmd_agent(args: argparse.Namespace) -> int:
    import logging

    from reconciler.agent.loop import AGENT_FILE, Agent, AgentConfig, Memory
    from reconciler.agent.sources import LocalSource, open_source
    from reconciler.agent.trust import TrustPolicy

    options.configure_logging(args)
    state_dir = options.state_dir(args)
    state_dir.mkdir(parents=True, exist_ok=True)
    device = args.device or Memory.load(state_dir / AGENT_FILE).device
    if not device:
        raise OperationError("say which device this is: --device NAME (remembered afterwards)")
    trust = TrustPolicy(
        gpg_home=Path(args.gpg_home) if args.gpg_home else None,
        allowed_signers=Path(args.allowed_signers) if args.allowed_signers else None,
    )
    if args.verify_signatures and not trust.enabled:
        raise OperationError("--verify-signatures needs --gpg-home DIR or --allowed-signers FILE")
    if args.metrics_public and not args.listen:
        raise OperationError("--metrics-public needs --listen (the status endpoint it belongs to)")
    source = open_source(args.source, args.branch, args.path, state_dir)
    if args.verify_signatures and isinstance(source, LocalSource):
        raise OperationError(
            "--verify-signatures needs a Git source: a local directory has no signed commits"
        )
    config = AgentConfig(
        source=source,
        state_dir=state_dir,
        device=device,
        backend=args.backend,
        secrets_dir=options.secrets_dir(args),
        interval=args.interval,
        drift_interval=args.drift_interval,
        trust=trust if args.verify_signatures else TrustPolicy(),
        status_port=args.listen[1] if args.listen else None,
        retry=args.retry,
        portal=options.portal(args),
        allow_non_fast_forward=args.allow_non_fast_forward,
        stop_timeout=args.stop_timeout,
    )
    agent = Agent(config)
    _attach_services(agent, args)
    agent.install_signal_handlers()
    logging.getLogger("reconciler.agent").info(
        "agent for %s watching %s (state in %s)", device, config.source.description, state_dir
    )
    agent.run(once=args.once)
    return _once_result(agent.last_outcome) if args.once else 0


def _attach_services(agent: Agent, args: argparse.Namespace) -> None:
    """Modbus, the MQTT uplink, the cloud clients and (with --listen) the status endpoint,
    beside the loop."""
    from reconciler.agent.services import ModbusListener, StatusEndpointListener
    from reconciler.services.mqtt.clients import CloudClients
    from reconciler.services.mqtt.uplink import MqttUplink

    cfg = agent.config
    modbus = ModbusListener(cfg.state_dir, cfg.backend)
    uplink = MqttUplink(cfg.device, cfg.state_dir, agent.secrets, agent.request_sync)
    clients = CloudClients(cfg.device, cfg.state_dir, agent.secrets)
    agent.listeners += [modbus, uplink, clients]
    if args.listen:
        agent.listeners.append(
            StatusEndpointListener(
                args.listen,
                cfg.state_dir,
                cfg.backend,
                agent.secrets,
                tls=(args.tls_cert, args.tls_key),
                metrics_public=args.metrics_public,
                tags=modbus.tags,
                portal=cfg.portal,
                cloud_connection=uplink.connection_state,
            )
        )


def _once_result(outcome: Outcome | None) -> int:
    """`--once`: the pass's outcome on stdout; exit 0 in sync, 2 changes left, 1 failed."""
    if outcome is None:
        return 1
    reason = f" ({outcome.reason})" if outcome.reason not in ("", outcome.state) else ""
    print(f"{outcome.state}{reason}" + (f": {outcome.message}" if outcome.message else ""))
    if outcome.state in ("Failed", "Stalled"):
        return 1
    return 0 if outcome.state == "Synced" else 2


def _when(commit: str | None, at: str | None) -> str:
    """`COMMIT at TIME`; "none yet" before the first one (never `None at None`)."""
    if not commit:
        return "none yet"
    return f"{commit} at {at}" if at else commit


def cmd_status(args: argparse.Namespace) -> int:
    from reconciler.output import emit_json
    from reconciler.syncstatus import read_status

    status = read_status(options.state_dir(args))
    if status is None:
        raise OperationError(f"no agent has run with state directory {options.state_dir(args)}")
    if args.json:
        emit_json(status)
        return 0
    print(f"device:        {status.get('device')}")
    print(f"source:        {status.get('source', {}).get('url')}")
    print(f"sync state:    {status.get('syncState')}")
    print(f"last fetched:  {_when(status.get('lastFetchedCommit'), status.get('lastFetchedAt'))}")
    print(f"last good:     {_enforced(status)}")
    plan = status.get("lastPlan") or {}
    if plan:
        s = plan.get("summary", {})
        print(
            f"last plan:     {s.get('add', 0)} to add, {s.get('change', 0)} to change, "
            f"{s.get('remove', 0)} to remove ({plan.get('at')})"
        )
    for item in status.get("waiting") or []:
        print(f"waiting:       {item['path']} ({item['risk']}) until {item['until']}")
    for item in status.get("operations") or []:
        detail = f": {item['detail']}" if item.get("detail") else ""
        print(
            f"operation:     {item['name']} ({item['action']}) {item['result']} "
            f"at {item['at']}{detail}"
        )
    for item in status.get("drift") or []:
        print(f"drift:         {item['op']} {item['path']}")
    for cond in status.get("conditions") or []:
        print(
            f"condition:     {cond['type']}={cond['status']} {cond['reason']}"
            + (f": {cond['message']}" if cond.get("message") else "")
        )
    return 0


def _enforced(status: dict[str, Any]) -> str:
    """The commit being enforced, even after rejected or failed passes."""
    commit, at = status.get("lastAppliedCommit"), status.get("lastAppliedAt")
    if not commit:
        return "none yet" + (f" (last apply at {at})" if at else "")
    return f"{commit} applied at {at or 'an unknown time'}"


def cmd_suspend(args: argparse.Namespace) -> int:
    from reconciler.agent.loop import SUSPEND_FILE

    path = options.state_dir(args) / SUSPEND_FILE
    if args.command == "suspend":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        print("Applies suspended: the agent keeps planning and reports drift, applies nothing.")
    else:
        path.unlink(missing_ok=True)
        print("Applies resumed.")
    return 0


def arguments_agent(p: argparse.ArgumentParser) -> None:
    from reconciler.cli.serve import add_metrics_public

    p.add_argument(
        "--source", required=True, help="Git URL (file://, https, ssh), directory or bundle:FILE"
    )
    p.add_argument("--branch", default="main", help="branch or tag (default: main)")
    p.add_argument("--path", default="", help="fleet root inside the repo (default: its root)")
    p.add_argument("--device", help="this device's name in the fleet (remembered)")
    p.add_argument("--interval", type=float, default=60.0, help="fetch interval, s (jittered)")
    p.add_argument("--drift-interval", type=float, default=300.0, help="re-observe interval, s")
    p.add_argument("--listen", type=_listen, help="serve the status endpoint on HOST:PORT")
    add_metrics_public(p)
    p.add_argument("--tls-cert", help="TLS certificate for the status endpoint (PEM)")
    p.add_argument("--tls-key", help="TLS private key for the status endpoint (PEM)")
    options.add_backend(p)
    options.add_state_dir(p)
    options.add_secrets_dir(p)
    p.add_argument("--verify-signatures", action="store_true", help="apply signed commits only")
    p.add_argument("--gpg-home", help="GnuPG home holding the trusted public keys")
    p.add_argument("--allowed-signers", help="SSH allowed-signers file of trusted keys")
    p.add_argument("--retry", action="store_true", help="forget failed commits and retry them")
    p.add_argument(
        "--allow-non-fast-forward",
        action="store_true",
        help="apply a commit that does not descend from the last applied one (rewritten "
        "history); an ancestor (a rewind) is refused always",
    )
    p.add_argument(
        "--stop-timeout",
        type=float,
        default=10.0,
        help="on SIGTERM, exit within this many seconds whatever runs (default: 10)",
    )
    p.add_argument(
        "--once", action="store_true", help="run one pass, print its outcome, exit 0/2/1"
    )
    options.add_log_level(p, "info")


def arguments_status(p: argparse.ArgumentParser) -> None:
    options.add_state_dir(p)
    options.add_json(p, "the status document as JSON")


def arguments_suspend(p: argparse.ArgumentParser) -> None:
    options.add_state_dir(p)
