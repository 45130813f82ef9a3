"""`reconcile serve`: argument parsing and output only.

Imported by the CLI on every start, so nothing here imports the web stack at module
level: `reconcile validate` must stay fast.
"""

from __future__ import annotations

import argparse
import sys

from reconciler.cli import options

DEFAULT_LISTEN = "127.0.0.1:9100"


def _listen(value: str) -> tuple[str, int]:
    from reconciler.api.server import parse_listen

    try:
        return parse_listen(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _non_negative(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {value!r}") from None
    if not 0 <= number <= 3600:
        raise argparse.ArgumentTypeError(f"expected 0..3600 seconds, got {value}")
    return number


def _minutes(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected minutes, got {value!r}") from None
    if not 1 <= number <= 7 * 24 * 60:
        raise argparse.ArgumentTypeError(f"expected 1..10080 minutes, got {value}")
    return number


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the read-only status endpoint until SIGINT/SIGTERM; 0 then, 1 on errors."""
    import logging

    from reconciler import operations as ops
    from reconciler.api.context import ApiContext
    from reconciler.api.server import check_tls, is_loopback, serve_forever

    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    check_tls(args.tls_cert, args.tls_key)
    target = options.target(args) if options.has_target(args) else None
    state_dir = options.state_dir(args)
    model = target.spec.metadata.model if target is not None else None
    backend = ops.open_backend(args.backend, state_dir, model)
    context = ApiContext(
        backend=backend,
        state_dir=state_dir,
        secrets=options.secrets(args),
        target=target,
        mode="serve",
        cache_seconds=args.cache_seconds,
        sse_interval=max(args.cache_seconds, 1.0),
        token_ttl=args.token_ttl * 60,
        tls=bool(args.tls_cert),
        status_port=args.listen[1] or None,
    )
    from reconciler.api.app import create_app

    app = create_app(context)
    host, port = args.listen
    if target is None:
        print(
            "note: no spec given (--file, or --fleet/--device): the accounts and desired "
            "state of the last successful apply are used.",
            file=sys.stderr,
        )
    if not is_loopback(host) and not args.tls_cert:
        print(
            f"warning: listening on {host} without TLS: tokens and passwords cross the "
            "network in clear; give --tls-cert and --tls-key.",
            file=sys.stderr,
        )
    scheme = "https" if args.tls_cert else "http"
    shown = f"[{host}]" if ":" in host else host

    def ready(bound: int) -> None:
        print(f"Serving the status endpoint on {scheme}://{shown}:{bound} (Ctrl-C to stop).")
        sys.stdout.flush()

    serve_forever(
        app,
        host,
        port,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        log_level=args.log_level,
        on_ready=ready,
    )
    print("Status endpoint stopped.")
    return 0


def arguments_serve(p: argparse.ArgumentParser) -> None:
    options.add_device_options(p, "which spec (accounts that may log in, desired state)")
    p.add_argument(
        "--listen",
        type=_listen,
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"address to serve on (default: {DEFAULT_LISTEN}; port 0 picks a free one)",
    )
    p.add_argument("--tls-cert", help="PEM certificate: serve HTTPS (with --tls-key)")
    p.add_argument("--tls-key", help="PEM private key of --tls-cert")
    p.add_argument(
        "--cache-seconds",
        type=_non_negative,
        default=1.0,
        metavar="S",
        help="reuse a device read for this long, however many clients ask (default: 1)",
    )
    p.add_argument(
        "--token-ttl",
        type=_minutes,
        default=60.0,
        metavar="MINUTES",
        help="lifetime of issued tokens (default: 60)",
    )
    options.add_log_level(p, "warning")
