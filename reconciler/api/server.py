"""Running the endpoint on uvicorn: in the foreground (`reconcile serve`) or in a thread
(the agent's `--listen`, tests).

The socket is bound here, before uvicorn starts, so a port in use or a bad address is one
clear OperationError instead of uvicorn's log line and exit. TLS files are checked the
same way. uvicorn's access log is off: query strings may carry tokens (`?token=`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import signal
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.api.limits import RequestGuard, ServerLimits, bounded_protocol
from reconciler.errors import OperationError

if TYPE_CHECKING:
    from reconciler.api.context import ApiContext

log = logging.getLogger("reconciler.api")
GRACEFUL_SECONDS = 2.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def parse_listen(value: str, default_port: int = 9100) -> tuple[str, int]:
    """`HOST:PORT`, `[v6]:PORT`, `:PORT` or `HOST`; raises ValueError with the reason."""
    host, port = value, str(default_port)
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"expected [ADDRESS]:PORT, got {value!r}")
            port = rest[1:]
    elif value.count(":") == 1:
        host, port = value.split(":")
    elif ":" in value:
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            raise ValueError(f"expected HOST:PORT or [IPv6]:PORT, got {value!r}") from None
    if not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"expected HOST:PORT with a port within 0..65535, got {value!r}")
    return host or "127.0.0.1", int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0 picks a free one)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise OperationError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        raise OperationError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def check_tls(cert: str | None, key: str | None) -> None:
    """Both or neither, and they must load as a pair."""
    if bool(cert) != bool(key):
        raise OperationError("TLS needs both --tls-cert and --tls-key")
    if cert and key:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            msg = f"cannot use TLS certificate {cert} with key {key}: {exc}"
            raise OperationError(msg) from None


def _server(
    app: Any, tls_cert: str | None, tls_key: str | None, log_level: str, limits: ServerLimits
) -> Any:
    import uvicorn

    try:
        http: Any = bounded_protocol(limits)
    except ImportError:  # no httptools (not CPython): h11 bounds the header size only
        http = "h11"
    config = uvicorn.Config(
        RequestGuard(app, limits),
        http=http,
        h11_max_incomplete_event_size=limits.max_header_bytes,
        timeout_keep_alive=limits.keep_alive_timeout,
        lifespan="off",
        access_log=False,
        log_config=None,
        log_level=log_level,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        timeout_graceful_shutdown=int(GRACEFUL_SECONDS),
        server_header=False,
        date_header=True,
        backlog=1024,
    )
    return _quiet_server_class()(config)


def _quiet_server_class() -> Any:
    """uvicorn's Server, but SIGINT/SIGTERM only stop it: uvicorn re-raises the signal
    after shutdown, which would end `reconcile serve` with 130/143 instead of 0."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {s: signal.signal(s, self.handle_exit) for s in STOP_SIGNALS}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server


@dataclass
class ServerHandle:
    """A server running in a thread; `stop()` ends it (open event streams included)."""

    host: str
    port: int
    tls: bool
    _server: Any
    _thread: threading.Thread
    _app: Any

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        close = getattr(self._app, "close", None)
        if callable(close):
            close()
        self._server.should_exit = True
        self._thread.join(timeout)


def serve_in_thread(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    log_level: str = "warning",
    ready_timeout: float = 10.0,
    limits: ServerLimits | None = None,
) -> ServerHandle:
    """Serve `app` on host:port (0: any free port) from a daemon thread; returns once it
    accepts connections. Raises OperationError if it cannot listen."""
    check_tls(tls_cert, tls_key)
    sock = bind(host, port)
    bound_port = int(sock.getsockname()[1])
    server = _server(app, tls_cert, tls_key, log_level, limits or ServerLimits())
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"status-api:{bound_port}", daemon=True
    )
    thread.start()
    handle = ServerHandle(host, bound_port, bool(tls_cert), server, thread, app)
    deadline = time.monotonic() + ready_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            handle.stop()
            sock.close()
            raise OperationError(f"the status endpoint on {host}:{bound_port} did not start")
        time.sleep(0.005)
    return handle


def serve_forever(
    app: Any,
    host: str,
    port: int,
    *,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    log_level: str = "warning",
    on_ready: Any = None,
    limits: ServerLimits | None = None,
) -> None:
    """Serve in the foreground until SIGINT/SIGTERM (uvicorn's handlers)."""
    check_tls(tls_cert, tls_key)
    sock = bind(host, port)
    server = _server(app, tls_cert, tls_key, log_level, limits or ServerLimits())
    if on_ready is not None:
        on_ready(int(sock.getsockname()[1]))
    try:
        server.run(sockets=[sock])
    finally:
        close = getattr(app, "close", None)
        if callable(close):
            close()
        sock.close()


def start_status_server(
    context: ApiContext,
    listen: str | tuple[str, int],
    *,
    tls_cert: str | Path | None = None,
    tls_key: str | Path | None = None,
) -> ServerHandle:
    """The agent's one call: build the app for `context` and serve it on `listen`
    (`HOST:PORT` or a (host, port) pair) in a thread. Stop it with `handle.stop()`."""
    from reconciler.api.app import create_app

    host, port = parse_listen(listen) if isinstance(listen, str) else listen
    context.tls = bool(tls_cert)
    if not is_loopback(host) and not tls_cert:
        log.warning(
            "status endpoint on %s:%s without TLS: tokens cross the network in clear", host, port
        )
    return serve_in_thread(
        create_app(context),
        host,
        port,
        tls_cert=str(tls_cert) if tls_cert else None,
        tls_key=str(tls_key) if tls_key else None,
    )
