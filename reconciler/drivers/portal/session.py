"""One device's conversation with the platform portal, independent of how bytes move.

A call is a generator that yields what it needs (a `Send` of one HTTP request, or a
`Sleep` of some seconds) and receives the response: `run_sync` drives it with an
httpx.Client, `run_async` with an httpx.AsyncClient. So login, the Bearer header, one
re-login on 401, retries with backoff and jitter (connection errors and 5xx, never 4xx),
the request-rate limit and the mapping of the doc's error bodies to typed errors are
written once for the single-device backend and the agentless fleet.

Credentials and tokens never leave this module: no message, repr or log line holds them.
"""

from __future__ import annotations

import base64
import functools
import random
import ssl
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from reconciler.errors import DeviceError, DeviceFailed, DeviceRefused, DeviceUnavailable

ACCOUNTS = {"os": 0, "admin": 2}
"""--account -> the doc's `m` query parameter of /auth/token and /auth/login."""


@dataclass(frozen=True)
class Send:
    method: str
    path: str
    headers: dict[str, str]
    body: Any = None
    params: dict[str, str] | None = None


NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport errors before the request left this host: safe to send again, whatever it is."""


@dataclass(frozen=True)
class Sleep:
    seconds: float


Step = Send | Sleep
Call = Generator[Step, Any, Any]


@dataclass(frozen=True)
class Policy:
    """How hard to try: attempts per call, backoff base, requests per second."""

    attempts: int = 4
    backoff: float = 0.2
    rate: float = 50.0


@dataclass
class Credentials:
    """user:password from a secret; repr shows neither."""

    user: str = field(repr=False)
    password: str = field(repr=False)

    @classmethod
    def parse(cls, value: str, name: str) -> Credentials:
        user, sep, password = value.partition(":")
        if not sep or not user:
            raise DeviceRefused(f"secret {name!r} must hold user:password")
        return cls(user, password)


class NotSupported(DeviceUnavailable):
    """The doc's 404 "not supported or no available data": this area is absent here."""


def device_words(response: httpx.Response) -> str:
    """The device's own sentence from one of the doc's error bodies."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, dict) and errors:
            return "; ".join(f"{k}: {v}" for k, v in errors.items())
        for key in ("message", "Message"):
            if body.get(key):
                return str(body[key])
    return response.reason_phrase


def check(response: httpx.Response, what: str, method: str = "GET") -> Any:
    """The decoded body, or the typed error naming `what` and the device's words: a 404
    to a read means the unit lacks the area, to a write that it refused the change."""
    status = response.status_code
    if status < 300:
        if status == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text
    words = device_words(response)
    if status in (400, 404, 422):
        kind: type[DeviceError] = (
            NotSupported if status == 404 and method == "GET" else DeviceRefused
        )
        raise kind(f"{what}: the device answered {status}: {words}")
    if status >= 500:
        raise DeviceFailed(f"{what}: the device failed ({status}): {words}")
    raise DeviceRefused(f"{what}: the device answered {status}: {words}")


class Session:
    """Auth state, the rate limit and the retry policy of one device."""

    def __init__(
        self, url: str, credentials: Credentials, account: str = "os", policy: Policy = Policy()
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DeviceRefused(f"--endpoint {url!r} is not an http(s) URL")
        if parts.username or parts.password:
            raise DeviceRefused("--endpoint must not carry credentials; use --credentials NAME")
        self.url = url.rstrip("/")
        self.where = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
        self._credentials = credentials
        self._m = str(ACCOUNTS[account])
        self.policy = policy
        self._token: str | None = None
        self._next_at = 0.0
        self.requests = 0

    def __repr__(self) -> str:
        return f"Session({self.where})"

    def call(self, method: str, path: str, what: str, body: Any = None) -> Call:
        """One documented request with a Bearer token: log in when needed, log in again
        once on 401, retry transient failures; returns the decoded body."""
        relogged = False
        while True:
            if self._token is None:
                yield from self._login()
            headers = {"Authorization": f"Bearer {self._token}"}
            response = yield from self._send(Send(method, path, headers, body), what)
            if response.status_code == 401 and not relogged:
                self._token, relogged = None, True
                continue
            if response.status_code == 401:
                raise DeviceRefused(f"{what}: the device refused the session token (401)")
            return check(response, what, method)

    def _login(self) -> Generator[Step, Any, None]:
        u, p = self._credentials.user, self._credentials.password
        basic = base64.b64encode(f"{u}:{p}".encode()).decode()
        send = Send("GET", "/auth/token", {"Authorization": f"Basic {basic}"}, None, {"m": self._m})
        response = yield from self._send(send, "login")
        if response.status_code == 401:
            raise DeviceRefused(
                f"login to {self.where} failed: the device refused the credentials (401)"
            )
        body = check(response, "login")
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise DeviceFailed(f"login to {self.where}: the device sent no token")
        self._token = token

    def _send(self, send: Send, what: str) -> Generator[Step, Any, httpx.Response]:
        """One request through the rate limit, retried on connection errors and 5xx (never
        4xx). A POST is not idempotent: it is sent again only when it cannot have reached
        the unit (the connection was never made) or the unit said 503 (not taken)."""
        idempotent = send.method != "POST"
        for attempt in range(1, self.policy.attempts + 1):
            yield from self._throttle()
            self.requests += 1
            try:
                response: httpx.Response = yield send
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, NEVER_SENT)
                if attempt == self.policy.attempts or not (idempotent or never_sent):
                    raise DeviceUnavailable(
                        f"{what}: cannot reach {self.where} ({type(exc).__name__})"
                    ) from None
            else:
                retry = response.status_code >= 500 if idempotent else response.status_code == 503
                if not retry or attempt == self.policy.attempts:
                    return response
            yield Sleep(self.policy.backoff * 2 ** (attempt - 1) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    def _throttle(self) -> Generator[Step, Any, None]:
        now = time.monotonic()
        if self._next_at > now:
            yield Sleep(self._next_at - now)
        self._next_at = max(now, self._next_at) + 1.0 / self.policy.rate


def run_sync(client: httpx.Client, call: Call) -> Any:
    """Drive `call` with a blocking client."""
    try:
        step = next(call)
        while True:
            if isinstance(step, Sleep):
                time.sleep(step.seconds)
                step = call.send(None)
                continue
            try:
                response = client.request(
                    step.method, step.path, headers=step.headers, json=step.body, params=step.params
                )
            except httpx.TransportError as exc:
                step = call.throw(exc)
            else:
                step = call.send(response)
    except StopIteration as done:
        return done.value


async def run_async(client: httpx.AsyncClient, call: Call) -> Any:
    """Drive `call` with an async client (the agentless fleet: many devices at once)."""
    import asyncio

    try:
        step = next(call)
        while True:
            if isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
                step = call.send(None)
                continue
            try:
                response = await client.request(
                    step.method, step.path, headers=step.headers, json=step.body, params=step.params
                )
            except httpx.TransportError as exc:
                step = call.throw(exc)
            else:
                step = call.send(response)
    except StopIteration as done:
        return done.value


@functools.lru_cache(maxsize=8)
def tls_context(ca_cert: str | None, insecure: bool) -> ssl.SSLContext:
    """One verifying context per CA bundle, shared by every client (building one costs
    milliseconds, which adds up over a fleet)."""
    if insecure:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    try:
        return ssl.create_default_context(cafile=ca_cert)
    except (OSError, ssl.SSLError) as exc:
        raise DeviceRefused(f"--ca-cert {ca_cert}: cannot load it ({exc})") from None


def client_options(ca_cert: str | None, insecure: bool, timeout: float = 10.0) -> dict[str, Any]:
    """httpx.Client/AsyncClient keyword arguments: TLS verified by default, timeouts on
    every call, HTTP/1.1 keep-alive, and no cookies kept: the portal's `jwt` cookie would
    duplicate the Bearer token on every request."""
    from http.cookiejar import CookieJar, DefaultCookiePolicy

    return {
        "cookies": CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        "verify": tls_context(ca_cert, insecure),
        "timeout": httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        "http1": True,
        "http2": False,
        "follow_redirects": False,
        "limits": httpx.Limits(max_connections=4, max_keepalive_connections=2),
    }
