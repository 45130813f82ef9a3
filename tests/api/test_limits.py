"""`reconcile serve` against hostile clients: huge headers, requests never finished, too
many connections, a flood from one address, oversized bodies. The server stays small and
keeps answering everyone else."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest
from test_serve_cli import Start, common, server  # noqa: F401  (the fixture)

HEAD_TIMEOUT = 2.0
GUARD = 60.0
"""Only a last guard against a hang; the server closes long before."""


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _connect(url: str, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(_address(url), timeout=GUARD, source_address=(source, 0))
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes (a reset counts as closed)."""
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def _stream_header(url: str, total: int, sent: list[int]) -> None:
    """Send one header of `total` bytes (or until the server closes on us)."""
    with _connect(url) as sock:
        sock.sendall(b"GET /auth/ping HTTP/1.1\r\nHost: x\r\nX-Big: ")
        chunk = b"a" * 65536
        count = 0
        try:
            while count < total:
                sock.sendall(chunk)
                count += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sent.append(count)


def test_huge_headers_and_half_open_connections_are_bounded(
    server: Start,  # noqa: F811
    tmp_path: Path,
) -> None:
    proc, url = server(*common(tmp_path), "--header-timeout", str(HEAD_TIMEOUT))
    sent: list[int] = []
    streams = [
        threading.Thread(target=_stream_header, args=(url, 100 * 2**20, sent)) for _ in range(4)
    ]
    for t in streams:
        t.start()
    half_open = [_connect(url) for _ in range(20)]
    for sock in half_open:
        sock.sendall(b"GET /auth/ping HTTP/1.1\r\nHost: x\r\nX-Slow: 1")
    with httpx.Client(base_url=url, timeout=GUARD) as client:
        assert client.get("/auth/ping").text == "pong"
    for t in streams:
        t.join(GUARD)
    assert len(sent) == 4 and max(sent) < 100 * 2**20, "the server read a 100 MB header"
    assert psutil.Process(proc.pid).memory_info().rss < 100 * 2**20
    for sock in half_open:
        assert _read_all(sock) == b"", "a half-open connection got an answer"
        sock.close()
    with httpx.Client(base_url=url, timeout=GUARD) as client:
        assert client.get("/auth/ping").text == "pong"


def test_a_header_over_the_limit_is_431(server: Start, tmp_path: Path) -> None:  # noqa: F811
    _, url = server(*common(tmp_path), "--max-header-bytes", "2048")
    with httpx.Client(base_url=url, timeout=GUARD) as client:
        assert client.get("/auth/ping", headers={"X-Fits": "a" * 1500}).text == "pong"
        with _connect(url) as sock:
            sock.sendall(b"GET /auth/ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 3000)
            answer = _read_all(sock)
        assert answer.startswith(b"HTTP/1.1 431 ")
        assert b'"Message":"request headers too large"' in answer
        assert client.get("/auth/ping").text == "pong"


def test_connections_beyond_the_cap_get_503(server: Start, tmp_path: Path) -> None:  # noqa: F811
    _, url = server(*common(tmp_path), "--max-connections", "4")
    held = [_connect(url) for _ in range(4)]
    with _connect(url) as extra:
        answer = _read_all(extra)
    assert answer.startswith(b"HTTP/1.1 503 ") and b"too many connections" in answer
    for sock in held:
        sock.close()
    with httpx.Client(base_url=url, timeout=GUARD) as client:
        assert client.get("/auth/ping").text == "pong"


def _client(url: str, source: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=url, timeout=GUARD, transport=transport)


def test_one_address_flooding_is_429_for_it_only(server: Start, tmp_path: Path) -> None:  # noqa: F811
    _, url = server(*common(tmp_path), "--rate-limit", "0.01", "--rate-burst", "3")
    with _client(url, "127.0.0.1") as flood, _client(url, "127.0.0.2") as other:
        codes = [flood.get("/auth/ping").status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
        refused = flood.get("/auth/ping")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert refused.json() == {"Code": 429, "Message": "too many requests from this address"}
        assert other.get("/auth/ping").text == "pong"


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"Content-Length": "100000"}, 413), ({"Transfer-Encoding": "chunked"}, 411)],
)
def test_oversized_or_unsized_bodies_are_refused(
    server: Start,  # noqa: F811
    tmp_path: Path,
    headers: dict[str, str],
    status: int,
) -> None:
    _, url = server(*common(tmp_path), "--max-body-bytes", "1024")
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with _connect(url) as sock:
        sock.sendall(f"POST /auth/login HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode())
        answer = _read_all(sock)
    assert answer.startswith(f"HTTP/1.1 {status} ".encode())


def test_limit_flags_are_checked(cli: Callable[..., object]) -> None:
    for flag, value in [("--header-timeout", "31"), ("--max-header-bytes", "10")]:
        with pytest.raises(SystemExit) as exc:
            cli("serve", flag, value)
        assert exc.value.code == 2
