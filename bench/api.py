"""Status endpoint throughput and latency at 50 concurrent clients (loopback only).

Starts `reconcile serve` (a separate process, as deployed) on the full-featured example
after one apply, logs in once, then for /platform/api/hwmon and /reconciler/api/status
keeps 50 keep-alive connections busy with a light asyncio HTTP/1.1 client (so the client
is not what is measured) and prints requests/second, p50/p90/p99 latency, and the
server's RSS. Bounded: a warm-up, then REQUESTS requests or SECONDS seconds per route,
whichever comes first. Targets: >= 1,000 req/s and p99 < 100 ms on a 2-core machine.

Then the hostile mix: the same honest clients on /reconciler/api/status while OVERSIZED
clients stream 1 MiB headers over and over and SLOW clients hold connections with
unfinished headers (a byte a second, reconnecting when closed). It prints the honest
req/s and p99 against the quiet run's (a ratio), the server's peak RSS (target < 100 MB),
431 answers, and how many slow connections the server closed. Each client has its own
loopback source address (127.0.1.N), as dashboards on different hosts would. The server
runs with `--rate-limit 0`: what is measured is its capacity, and a quiet machine drives
each client past the default 100 requests/s per address (429, connection closed); the
per-address limit has tests of its own (tests/api/test_limits.py).

Run: .venv/bin/python bench/api.py [--clients 50] [--requests 30000] [--seconds 20]
     [--oversized 4] [--slow 100]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchkit import make_secrets

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "examples" / "full-featured.yaml"
RECONCILE = REPO / ".venv" / "bin" / "reconcile"
ROUTES = ["/platform/api/hwmon", "/reconciler/api/status"]
HOST = "127.0.0.1"


def start_server(state: Path, secrets: Path) -> tuple[subprocess.Popen[str], int]:
    common = ["-f", str(SPEC), "--state-dir", str(state), "--secrets-dir", str(secrets)]
    subprocess.run([str(RECONCILE), "apply", *common, "--yes"], capture_output=True, check=True)
    proc = subprocess.Popen(
        [str(RECONCILE), "serve", *common, "--listen", f"{HOST}:0", "--rate-limit", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "Serving" not in line:
        proc.kill()
        err = proc.stderr.read() if proc.stderr else ""
        sys.exit(f"reconcile serve did not start: {line}{err}")
    return proc, int(line.split(" on ", 1)[1].split()[0].rsplit(":", 1)[1])


async def request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> tuple[int, bytes]:
    """One HTTP/1.1 request on a kept-alive connection; the body by Content-Length."""
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


def raw_get(path: str, port: int, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def login(port: int) -> str:
    basic = base64.b64encode(b"monitor:bench-monitor-password-value").decode()
    reader, writer = await asyncio.open_connection(HOST, port)
    status, body = await request(
        reader, writer, raw_get("/auth/token", port, {"Authorization": f"Basic {basic}"})
    )
    writer.close()
    if status != 200:
        sys.exit(f"login failed: {status} {body!r}")
    return str(json.loads(body)["token"])


async def load(
    port: int, path: str, token: str, clients: int, requests: int, seconds: float
) -> tuple[list[float], float, int]:
    """Latencies (s), elapsed wall time and error count of one measured run."""
    raw = raw_get(path, port, {"Authorization": f"Bearer {token}"})
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    remaining = [requests]

    async def client(number: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(HOST, port, local_addr=(source(number), 0))
        try:
            while remaining[0] > 0 and time.perf_counter() < deadline:
                remaining[0] -= 1
                t = time.perf_counter()
                status, _ = await request(reader, writer, raw)
                latencies.append(time.perf_counter() - t)
                if status != 200:
                    errors += 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return latencies, time.perf_counter() - start, errors


def source(number: int) -> str:
    """A loopback source address per honest client (all of 127/8 is local on Linux)."""
    return f"127.0.1.{number % 250 + 1}"


class Hostile:
    """Oversized and slow clients running until `stop` is set; counts what they saw."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.stop = asyncio.Event()
        self.refused_431 = 0
        self.slow_closed = 0

    async def oversized(self, number: int) -> None:
        chunk = b"a" * 65536
        while not self.stop.is_set():
            reader, writer = await asyncio.open_connection(HOST, self.port)
            try:
                writer.write(b"GET /auth/ping HTTP/1.1\r\nHost: x\r\nX-Big: ")
                for _ in range(16):  # 1 MiB
                    writer.write(chunk)
                    await writer.drain()
                answer = await reader.read(64)
            except (ConnectionError, OSError):
                answer = b""
            finally:
                writer.close()
            self.refused_431 += answer.startswith(b"HTTP/1.1 431")

    async def slow(self, number: int) -> None:
        local = (f"127.0.2.{number % 250 + 1}", 0)
        while not self.stop.is_set():
            reader, writer = await asyncio.open_connection(HOST, self.port, local_addr=local)
            try:
                writer.write(b"GET /auth/ping HTTP/1.1\r\nHost: x\r\n")
                while not self.stop.is_set() and not reader.at_eof():
                    writer.write(b"X")
                    await writer.drain()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(reader.read(1), 1.0)
                if not self.stop.is_set():
                    self.slow_closed += 1
            except (ConnectionError, OSError):
                self.slow_closed += 1
            finally:
                writer.close()


async def hostile_mix(
    args: argparse.Namespace, port: int, pid: int, token: str, quiet: tuple[float, float]
) -> None:
    hostile = Hostile(port)
    tasks = [asyncio.create_task(hostile.oversized(n)) for n in range(args.oversized)]
    tasks += [asyncio.create_task(hostile.slow(n)) for n in range(args.slow)]
    peak = [rss_mib(pid)]

    async def sample() -> None:
        while not hostile.stop.is_set():
            peak[0] = max(peak[0], rss_mib(pid))
            await asyncio.sleep(0.2)

    tasks.append(asyncio.create_task(sample()))
    await asyncio.sleep(1.0)
    path = ROUTES[1]
    # The whole --seconds, past the server's header timeout (10 s), so slow clients are
    # closed while the honest ones are measured.
    latencies, elapsed, errors = await load(port, path, token, args.clients, 10**9, args.seconds)
    hostile.stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    ms = [x * 1000 for x in latencies]
    rate, p99 = len(ms) / elapsed, percentile(ms, 99)
    print(
        f"hostile mix: {args.clients} honest + {args.slow} slow + {args.oversized} oversized "
        f"clients on {path}"
    )
    print(
        f"  honest: {rate:8.0f} req/s ({rate / quiet[0]:.2f} x quiet)  p99 {p99:6.2f} ms "
        f"({p99 / quiet[1]:.2f} x quiet)  ({len(ms)} requests, {errors} errors)"
    )
    print(
        f"  server peak RSS {peak[0]:.1f} MiB (target < 100); {hostile.refused_431} oversized "
        f"requests answered 431; {hostile.slow_closed} slow connections closed by the server"
    )


def rss_mib(pid: int) -> float:
    import psutil

    return float(psutil.Process(pid).memory_info().rss) / 2**20


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1]


async def main_async(args: argparse.Namespace, port: int, pid: int) -> None:
    token = await login(port)
    print(f"status endpoint bench: {args.clients} concurrent keep-alive clients, loopback")
    print(f"server RSS after start: {rss_mib(pid):.1f} MiB")
    quiet = (0.0, 0.0)
    for path in ROUTES:
        await load(port, path, token, args.clients, 2000, 5.0)  # warm-up
        latencies, elapsed, errors = await load(
            port, path, token, args.clients, args.requests, args.seconds
        )
        ms = [x * 1000 for x in latencies]
        print(
            f"{path:28} {len(ms) / elapsed:8.0f} req/s  p50 {percentile(ms, 50):6.2f} ms  "
            f"p90 {percentile(ms, 90):6.2f} ms  p99 {percentile(ms, 99):6.2f} ms  "
            f"max {max(ms):6.1f} ms  ({len(ms)} requests, {errors} errors)"
        )
        quiet = (len(ms) / elapsed, percentile(ms, 99))
    print(f"server RSS after load:  {rss_mib(pid):.1f} MiB")
    await hostile_mix(args, port, pid, token, quiet)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=60000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--oversized", type=int, default=4)
    parser.add_argument("--slow", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        proc, port = start_server(root / "state", make_secrets(root, SPEC))
        try:
            print(f"machine: {os.cpu_count()} CPUs; server pid {proc.pid} on {HOST}:{port}")
            try:
                import uvloop

                factory = uvloop.new_event_loop
            except ImportError:
                factory = None
            with asyncio.Runner(loop_factory=factory) as runner:
                runner.run(main_async(args, port, proc.pid))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


if __name__ == "__main__":
    main()
