"""Bounds on what a client can make the status endpoint hold: header bytes, header-read
time, body size, open connections and requests per client address.

uvicorn has a keep-alive timeout and h11 a header size limit, but the httptools parser
it prefers buffers a header of any size and waits for it forever, so the bounds that
uvicorn lacks live in a subclass of its httptools protocol (`bounded_protocol`). The
per-request ones (body size, rate) are a small ASGI guard (`RequestGuard`) in front of
the application.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.api.responses import code_message

if TYPE_CHECKING:
    import asyncio

    from starlette.types import ASGIApp, Receive, Scope, Send

MAX_TRACKED_CLIENTS = 4096
"""Rate buckets kept at most (least recently seen addresses are forgotten first)."""


@dataclass(frozen=True)
class ServerLimits:
    """Defaults suit a device endpoint read by dashboards, SCADA and Prometheus."""

    max_header_bytes: int = 16 * 1024
    """Request line plus headers; beyond it 431 and the connection closes."""
    max_body_bytes: int = 64 * 1024
    """Content-Length beyond it is 413 (bodies must have a Content-Length: 411 if not)."""
    header_timeout: float = 10.0
    """Seconds from a connection, or the first byte of a request on it, to the request's
    end (head and body); then the connection closes."""
    keep_alive_timeout: int = 5
    """Seconds an idle kept-alive connection stays open."""
    max_connections: int = 256
    """Open connections at most; one more is answered 503 and closed."""
    rate: float = 100.0
    """Requests per second per client address (0: no limit); beyond it 429."""
    burst: int = 200
    """Requests a client address may send at once before the rate applies."""


def _raw_response(status: int, reason: str, message: str) -> bytes:
    body = code_message(status, message)
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def bounded_protocol(limits: ServerLimits) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol with a header size limit, a header-read timeout and a
    connection cap (uvicorn's `limit_concurrency` answers only once headers are read)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    too_large = _raw_response(431, "Request Header Fields Too Large", "request headers too large")
    busy = _raw_response(503, "Service Unavailable", "too many connections")

    class BoundedHttpToolsProtocol(HttpToolsProtocol):
        _head_bytes = 0
        _in_head = True
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                transport.write(busy)
                transport.close()
                return
            self._start_head()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_head_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if not self._in_head:
                super().data_received(data)
                return
            if self._head_timer is None:
                self._arm_head_timer()
            room = limits.max_header_bytes - self._head_bytes
            self._head_bytes += min(len(data), room)
            super().data_received(data[:room])
            if len(data) <= room or self.transport.is_closing():
                return
            if self._in_head:
                self._stop_head_timer()
                self.transport.write(too_large)
                self.transport.close()
                return
            self.data_received(data[room:])

        def on_headers_complete(self) -> None:
            self._in_head = False
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            """The next bytes start the next request's head (its timer starts with them)."""
            super().on_message_complete()
            self._stop_head_timer()
            self._in_head, self._head_bytes = True, 0

        def _start_head(self) -> None:
            self._in_head, self._head_bytes = True, 0
            self._arm_head_timer()

        def _arm_head_timer(self) -> None:
            self._stop_head_timer()
            self._head_timer = self.loop.call_later(limits.header_timeout, self._head_expired)

        def _stop_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_expired(self) -> None:
            """The request (head and body) did not arrive in time: close."""
            self._head_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    return BoundedHttpToolsProtocol


class RateLimiter:
    """A token bucket per client address: `burst` at once, then `rate` per second."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self._clock = rate, max(1, burst), clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait_for(self, client: str) -> float:
        """0 if `client` may send a request now (and count it), else seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            tokens, seen = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - seen) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[client] = (tokens - 1 if wait == 0 else tokens, now)
            while len(self._buckets) > MAX_TRACKED_CLIENTS:
                self._buckets.popitem(last=False)
        return wait


class RequestGuard:
    """ASGI guard before the application: per-address rate (429), body size (413/411)."""

    def __init__(self, app: ASGIApp, limits: ServerLimits) -> None:
        self.app = app
        self.limits = limits
        self.rate = RateLimiter(limits.rate, limits.burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self.rate.wait_for(client[0] if client else "")
        if wait > 0:
            retry = str(max(1, math.ceil(wait)))
            await _refuse(send, 429, "too many requests from this address", retry)
            return
        refusal = self._body_refusal(scope)
        if refusal is not None:
            await _refuse(send, *refusal)
            return
        await self.app(scope, receive, send)

    def _body_refusal(self, scope: Scope) -> tuple[int, str] | None:
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is None:
            if b"transfer-encoding" in headers:
                return 411, "send the request body with a Content-Length"
            return None
        if not length.isdigit():
            return 400, "bad Content-Length"
        if int(length) > self.limits.max_body_bytes:
            return 413, f"request body over {self.limits.max_body_bytes} bytes"
        return None


async def _refuse(send: Send, status: int, message: str, retry_after: str | None = None) -> None:
    body = code_message(status, message)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", retry_after.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
