"""The status endpoint as an ASGI application (Starlette routing under a thin gate).

The gate answers before any route runs: 405 for every write method (the endpoint is
read-only; only the login and logout POSTs exist), 401 without a valid token for all but
ping/version/agentinfo and the login routes. Then Starlette routes the request, and
handler errors become the documented error bodies. Every answer is counted for /metrics.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from starlette.routing import Route, Router
from starlette.types import Message, Receive, Scope, Send

from reconciler.api.accounts import METRICS_READ, Authenticator
from reconciler.api.cache import ReadCache
from reconciler.api.context import ApiContext
from reconciler.api.handlers import Handlers, QueryError, Unauthorized
from reconciler.api.httpauth import USER_KEY, basic_credentials, bearer_token, wants_events
from reconciler.api.metrics import RequestCounter
from reconciler.api.portal import BadParameter, Unavailable
from reconciler.api.responses import JSON, code_message, portal_error
from reconciler.api.routes import OPERATIONS, POST_PATHS, PUBLIC_PATHS, SSE_ONLY
from reconciler.api.sync import NoSpec, SyncReader
from reconciler.api.tokens import TokenSigner, load_signing_key
from reconciler.confirmation import RequestMark
from reconciler.errors import DeviceError, OperationError

if TYPE_CHECKING:
    from reconciler.spec.device import DeviceSpec

log = logging.getLogger("reconciler.api")

READ_METHODS = frozenset({"GET", "HEAD"})
ALLOWED = {path: frozenset({"POST"}) for path in POST_PATHS}
"""Methods per path: GET and HEAD everywhere except the login and logout POSTs."""
STATIC_PATHS = frozenset(op.path for op in OPERATIONS if "{" not in op.path)
METRICS_PATH = "/metrics"
UNAUTHORIZED = "Unauthorized: log in at /auth/token or /auth/login and send the token"


def create_app(context: ApiContext) -> StatusApi:
    """The ASGI application serving `context` (see reconciler.api.context.ApiContext)."""
    return StatusApi(context)


class StatusApi:
    """ASGI callable; also holds what all requests share: cache, tokens, counters."""

    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.cache = ReadCache(ttl=context.cache_seconds)
        self.backend_lock = threading.Lock()
        self.sync = SyncReader(context, self.backend_lock)
        self.signing = load_signing_key(context.state_dir, _device_name(context))
        self.signer = TokenSigner(self.signing.private, context.token_ttl)
        self.auth = Authenticator(self._spec, context.secrets)
        self.requests = RequestCounter()
        self.mark = RequestMark(context.state_dir)
        """An authenticated request confirms an agent's change (agent.confirm: status)."""
        self.started_at = time.time()
        self.closing = threading.Event()
        self.handlers = Handlers(self)
        routes = [
            Route(op.path, getattr(self.handlers, op.handler), methods=[op.method])
            for op in OPERATIONS
        ]
        self.router = Router(routes=routes, redirect_slashes=False, default=_not_found)

    def _spec(self) -> DeviceSpec | None:
        target = self.sync.target()
        return target.spec if target is not None else None

    def observe_all(self) -> dict[str, Any]:
        """One device read (blocking); the cache calls it from a worker thread."""
        with self.backend_lock:
            return self.context.backend.observe_all()

    def close(self) -> None:
        """Make open event streams end (called when the server stops)."""
        self.closing.set()

    # -- ASGI ---------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method: str = scope["method"]
        path: str = scope["path"]
        status = 500
        started = False

        async def send_counted(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
            await send(message)

        try:
            allowed = ALLOWED.get(path, READ_METHODS)
            if method not in allowed:
                message = f"{method} is not allowed here: this endpoint is read-only"
                allow = ", ".join(sorted(allowed))
                await _send(send_counted, 405, code_message(405, message), allow=allow)
            elif path not in PUBLIC_PATHS and not await self._allowed(scope):
                await _send(send_counted, 401, code_message(401, UNAUTHORIZED), bearer=True)
            else:
                await self.router(scope, receive, send_counted)
        except Exception as exc:
            if started:
                log.warning("status endpoint: %s %s failed while answering: %s", method, path, exc)
            else:
                await self._error(send_counted, method, path, exc)
        finally:
            route = scope.get("route")
            label = route.path if route is not None else path if path in STATIC_PATHS else "other"
            self.requests.count(label, method, status)

    async def _allowed(self, scope: Scope) -> bool:
        """A status:read token; for /metrics also Basic of a metrics:read account (a static
        Prometheus config cannot renew tokens)."""
        if self._authorized(scope):
            self.mark.touch()
            return True
        credentials = basic_credentials(scope["headers"])
        if scope["path"] != METRICS_PATH or credentials is None:
            return False
        from anyio import to_thread

        user, password = credentials
        client = scope.get("client")
        address = client[0] if client else ""
        result = await to_thread.run_sync(self.auth.login, user, password, address, METRICS_READ)
        if result.ok:
            self.mark.touch()
        return result.ok

    def _authorized(self, scope: Scope) -> bool:
        allow_query = path_is_stream(scope)
        token = bearer_token(scope, allow_query)
        if token is None:
            return False
        claims = self.signer.verify(token)
        if claims is None or not self.auth.may_read(claims.subject):
            return False
        scope[USER_KEY] = claims.subject
        return True

    async def _error(self, send: Send, method: str, path: str, exc: Exception) -> None:
        """The documented error body for what a handler raised."""
        if isinstance(exc, Unavailable):
            await _send(send, 404, portal_error(exc.area, exc.message))
        elif isinstance(exc, BadParameter):
            await _send(send, 400, portal_error(exc.area, exc.message))
        elif isinstance(exc, QueryError):
            await _send(send, 400, code_message(400, str(exc)))
        elif isinstance(exc, Unauthorized):
            await _send(send, 401, code_message(401, str(exc)), bearer=False)
        elif isinstance(exc, NoSpec):
            await _send(send, 404, code_message(404, str(exc)))
        elif isinstance(exc, OperationError | DeviceError | OSError):
            log.warning("status endpoint: %s %s: %s", method, path, exc)
            await _send(send, 422, portal_error("Device", str(exc)))
        else:
            log.exception("status endpoint: %s %s failed", method, path)
            await _send(send, 500, code_message(500, "internal error; see the server's log"))


class PublicMetrics:
    """`--metrics-public`: GET /metrics of `api` without auth, on a listen address of its
    own (nothing else is served there, so opening it to a scraper opens nothing else)."""

    def __init__(self, api: StatusApi) -> None:
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] != METRICS_PATH:
            await _send(send, 404, code_message(404, "only /metrics is served here"))
        elif scope["method"] not in READ_METHODS:
            message = f"{scope['method']} is not allowed here: this endpoint is read-only"
            await _send(send, 405, code_message(405, message), allow="GET, HEAD")
        else:
            from starlette.requests import Request

            response = await self.api.handlers.metrics(Request(scope, receive))
            await response(scope, receive, send)


def path_is_stream(scope: Scope) -> bool:
    """Event streams may carry the token in the query (EventSource cannot set headers)."""
    return bool(scope["path"] == SSE_ONLY or wants_events(scope["headers"]))


async def _send(
    send: Send, status: int, body: bytes, allow: str | None = None, bearer: bool | None = None
) -> None:
    headers = [
        (b"content-type", JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if allow is not None:
        headers.append((b"allow", allow.encode()))
    if bearer is not None:
        scheme = b'Bearer realm="reconciler"' if bearer else b'Basic realm="reconciler"'
        headers.append((b"www-authenticate", scheme))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    await _send(send, 404, code_message(404, "no such route"))


def _device_name(context: ApiContext) -> str:
    """The certificate's common name: the spec's device name, "reconciler" without one."""
    target = context.current_target()
    return target.spec.metadata.name if target is not None else "reconciler"


async def _lifespan(receive: Receive, send: Send) -> None:
    """Nothing to set up or tear down; answer the protocol so any server setting works."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
