"""`reconcile modbus serve`: run a spec's Modbus service alone, without the agent.

Argument parsing and output only. Runs until SIGINT/SIGTERM; SIGHUP re-reads the file and
reconfigures the running service in place. Exit 0 after a clean stop, 1 when the spec is
invalid or part of it cannot run (e.g. the port is taken).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from reconciler.cli import options
from reconciler.errors import OperationError


def arguments_serve(p: argparse.ArgumentParser) -> None:
    p.add_argument("--file", "-f", required=True, metavar="FILE", help="a Device YAML file")
    options.add_backend(p)
    options.add_state_dir(p)
    p.add_argument(
        "--serial",
        action="append",
        default=[],
        metavar="PORT=PATH",
        help="serial port id to a device path or pyserial URL (default: port N is /dev/ttyS{N-1})",
    )


def _serial_paths(pairs: list[str]) -> dict[int, str]:
    paths = {}
    for pair in pairs:
        port, sep, path = pair.partition("=")
        if not sep or not port.isdigit() or not path:
            raise OperationError(f"--serial takes PORT=PATH (e.g. 1=/dev/ttyS0), not {pair!r}")
        paths[int(port)] = path
    return paths


def _describe(status: dict[str, Any]) -> str:
    slave = status["slave"]
    where = ", ".join(f"{k.upper()} {v}" for k, v in slave["listening"].items()) or "no listener"
    devices = ", ".join(status["master"]) or "none"
    return f"Modbus slave: {where}, {slave['zones']} zone(s); master devices: {devices}"


def _report(exc: Exception) -> None:
    """Located problems of an invalid spec (SpecError's lines), or one sentence."""
    from reconciler.loader import SpecError

    print(str(exc) if isinstance(exc, SpecError) else f"error: {exc}", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> int:
    from reconciler.loader import SpecError

    try:
        return _serve(args)
    except (SpecError, OperationError) as exc:
        _report(exc)
    return 1


def _serve(args: argparse.Namespace) -> int:
    import logging
    import signal
    import threading

    from reconciler.loader import SpecError
    from reconciler.operations import load_target, open_backend
    from reconciler.services.modbus.service import ModbusService
    from reconciler.stopsignals import on_signals

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    logging.getLogger("pymodbus").setLevel(logging.WARNING)
    paths = _serial_paths(args.serial)
    target = load_target(args.file, None, None)
    state_dir = options.state_dir(args)
    backend = open_backend(args.backend, state_dir, target.spec.metadata.model)
    service = ModbusService(backend, state_dir, serial_paths=paths)

    stop, reload = threading.Event(), threading.Event()

    def on_signal(signum: int) -> None:
        if signum == signal.SIGHUP:
            reload.set()
        stop.set()

    on_signals((signal.SIGTERM, signal.SIGINT, signal.SIGHUP), on_signal)
    try:
        service.start(target.spec.spec.modbus)
        print(_describe(service.status()), flush=True)
        while True:
            stop.wait()
            if not reload.is_set():
                return 0
            stop.clear()
            reload.clear()
            try:
                service.reconfigure(load_target(args.file, None, None).spec.spec.modbus)
            except (SpecError, OperationError) as exc:  # keep serving the last good spec
                _report(exc)
            else:
                print(f"reloaded {args.file}: {_describe(service.status())}", flush=True)
    finally:
        service.stop()
