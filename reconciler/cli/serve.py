"""`reconcile serve`: argument parsing and output only.

Imported by the CLI on every start, so nothing here imports the web stack at module
level: `reconcile validate` must stay fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from reconciler.cli import options

if TYPE_CHECKING:
    from reconciler.api.context import ApiContext
    from reconciler.api.limits import ServerLimits

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


def _count(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        if not value.isdigit() or not low <= int(value) <= high:
            raise argparse.ArgumentTypeError(
                f"expected a whole number {low}..{high}, got {value!r}"
            )
        return int(value)

    return parse


def _limits(args: argparse.Namespace) -> ServerLimits:
    from reconciler.api.limits import ServerLimits

    return ServerLimits(
        max_header_bytes=args.max_header_bytes,
        max_body_bytes=args.max_body_bytes,
        header_timeout=args.header_timeout,
        keep_alive_timeout=args.keep_alive_timeout,
        max_connections=args.max_connections,
        rate=args.rate_limit,
        burst=args.rate_burst,
    )


def _context(args: argparse.Namespace) -> ApiContext:
    """The endpoint's view of the device: the spec given (or none), backend, secrets."""
    from reconciler import operations as ops
    from reconciler.api.context import ApiContext

    target = options.target(args) if options.has_target(args) else None
    state_dir = options.state_dir(args)
    model = target.spec.metadata.model if target is not None else None
    secrets = options.secrets(args)
    backend = ops.open_backend(
        args.backend, state_dir, model, portal=options.portal(args), secrets=secrets
    )
    return ApiContext(
        backend=backend,
        state_dir=state_dir,
        secrets=secrets,
        target=target,
        mode="serve",
        cache_seconds=args.cache_seconds,
        sse_interval=max(args.cache_seconds, 1.0),
        token_ttl=args.token_ttl * 60,
        tls=bool(args.tls_cert),
        status_port=args.listen[1] or None,
    )


def _warnings(args: argparse.Namespace, context: ApiContext) -> None:
    from reconciler.api.server import is_loopback

    if context.target is None:
        print(
            "note: no spec given (--file, or --fleet/--device): the accounts and desired "
            "state of the last successful apply are used.",
            file=sys.stderr,
        )
    host = args.listen[0]
    if not is_loopback(host) and not args.tls_cert:
        print(
            f"warning: listening on {host} without TLS: tokens and passwords cross the "
            "network in clear; give --tls-cert and --tls-key.",
            file=sys.stderr,
        )


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the read-only status endpoint until SIGINT/SIGTERM; 0 then, 1 on errors."""
    from reconciler.api.app import PublicMetrics, create_app
    from reconciler.api.server import check_tls, serve_forever, serve_in_thread

    options.configure_logging(args)
    check_tls(args.tls_cert, args.tls_key)
    context = _context(args)
    app = create_app(context)
    _warnings(args, context)
    host, port = args.listen
    metrics_public = args.metrics_public
    public = serve_in_thread(PublicMetrics(app), *metrics_public) if metrics_public else None
    scheme = "https" if args.tls_cert else "http"
    shown = f"[{host}]" if ":" in host else host

    def ready(bound: int) -> None:
        print(f"Serving the status endpoint on {scheme}://{shown}:{bound} (Ctrl-C to stop).")
        if public is not None:
            print(f"Serving /metrics without authentication on {public.url}/metrics.")
        sys.stdout.flush()

    try:
        serve_forever(
            app,
            host,
            port,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            log_level=args.log_level,
            on_ready=ready,
            limits=_limits(args),
        )
    finally:
        if public is not None:
            public.stop()
    print("Status endpoint stopped.")
    return 0


def add_metrics_public(p: argparse.ArgumentParser) -> None:
    """`--metrics-public HOST:PORT`, shared by `serve` and `agent`."""
    p.add_argument(
        "--metrics-public",
        type=_listen,
        metavar="HOST:PORT",
        help="also serve /metrics WITHOUT authentication on this separate address "
        "(for a scraper on a trusted network; nothing else is served there)",
    )


def arguments_serve(p: argparse.ArgumentParser) -> None:
    options.add_device_options(p, "which spec (accounts that may log in, desired state)")
    p.add_argument(
        "--listen",
        type=_listen,
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"address to serve on (default: {DEFAULT_LISTEN}; port 0 picks a free one)",
    )
    add_metrics_public(p)
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
    _add_limit_arguments(p)


def _add_limit_arguments(p: argparse.ArgumentParser) -> None:
    """What one client may make the server hold (see reconciler.api.limits)."""
    from reconciler.api.limits import ServerLimits

    d = ServerLimits()
    g = p.add_argument_group("limits on clients")
    g.add_argument(
        "--max-header-bytes",
        type=_count(1024, 1024 * 1024),
        default=d.max_header_bytes,
        metavar="N",
        help=f"request line and headers at most (431 beyond; default: {d.max_header_bytes})",
    )
    g.add_argument(
        "--max-body-bytes",
        type=_count(0, 16 * 1024 * 1024),
        default=d.max_body_bytes,
        metavar="N",
        help=f"request body at most (413 beyond; default: {d.max_body_bytes})",
    )
    g.add_argument(
        "--header-timeout",
        type=options.number_in(0.1, 30),
        default=d.header_timeout,
        metavar="S",
        help="close a connection whose request is not complete this long after it "
        f"starts (0.1..30; default: {d.header_timeout:g})",
    )
    g.add_argument(
        "--keep-alive-timeout",
        type=_count(1, 300),
        default=d.keep_alive_timeout,
        metavar="S",
        help=f"close an idle kept-alive connection (default: {d.keep_alive_timeout})",
    )
    g.add_argument(
        "--max-connections",
        type=_count(1, 65535),
        default=d.max_connections,
        metavar="N",
        help=f"open connections at most (503 beyond; default: {d.max_connections})",
    )
    g.add_argument(
        "--rate-limit",
        type=options.number_in(0, 1_000_000),
        default=d.rate,
        metavar="PER_S",
        help=f"requests per second per client address (429 beyond; 0: off; default: {d.rate:g})",
    )
    g.add_argument(
        "--rate-burst",
        type=_count(1, 1_000_000),
        default=d.burst,
        metavar="N",
        help=f"requests a client address may send at once (default: {d.burst})",
    )
