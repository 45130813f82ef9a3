"""Where credentials come from in a request: a Bearer header, the `jwt` cookie (set by
/auth/token and /auth/login), `?token=` for EventSource clients that cannot set headers
(accepted on event streams only, since query strings end up in proxies' logs), and HTTP
Basic for /auth/token."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs

COOKIE = "jwt"
MAX_TOKEN = 4096
USER_KEY = "reconciler.user"
"""Where the gate leaves the authenticated account's name in the ASGI scope."""


def _headers(scope_headers: Iterable[tuple[bytes, bytes]], name: bytes) -> list[str]:
    return [v.decode("latin-1") for k, v in scope_headers if k == name]


def wants_events(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    return any("text/event-stream" in v for v in _headers(headers, b"accept"))


def bearer_token(scope: Mapping[str, Any], allow_query: bool) -> str | None:
    """The token a request presents, from the header, the cookie or (streams) the query."""
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for value in _headers(headers, b"authorization"):
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()[:MAX_TOKEN]
    for value in _headers(headers, b"cookie"):
        cookie: SimpleCookie = SimpleCookie()
        try:
            cookie.load(value)
        except CookieError:
            continue
        if COOKIE in cookie and cookie[COOKIE].value:
            return cookie[COOKIE].value[:MAX_TOKEN]
    query = scope.get("query_string", b"")
    if allow_query and isinstance(query, bytes) and b"token=" in query:
        values = parse_qs(query.decode("latin-1")).get("token")
        if values:
            return values[0][:MAX_TOKEN]
    return None


def basic_credentials(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str, str] | None:
    """(user, password) from `Authorization: Basic base64(user:password)`."""
    for value in _headers(headers, b"authorization"):
        scheme, _, encoded = value.strip().partition(" ")
        if scheme.lower() != "basic":
            continue
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        return (user, password) if sep and user else None
    return None
