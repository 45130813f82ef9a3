"""Status endpoint throughput and latency at 50 concurrent clients (loopback only).

Starts `reconcile serve` (a separate process, as deployed) on the full-featured example
after one apply, logs in once, then for /platform/api/hwmon and /reconciler/api/status
keeps 50 keep-alive connections busy with a light asyncio HTTP/1.1 client (so the client
is not what is measured) and prints requests/second, p50/p90/p99 latency, and the
server's RSS. Bounded: a warm-up, then REQUESTS requests or SECONDS seconds per route,
whichever comes first. Targets: >= 1,000 req/s and p99 < 100 ms on a 2-core machine.

Run: .venv/bin/python bench/api.py [--clients 50] [--requests 30000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "examples" / "full-featured.yaml"
RECONCILE = REPO / ".venv" / "bin" / "reconcile"
SECRETS = ["plant-a-wifi", "monitor-password", "operator-password", "mqtt-password"]
ROUTES = ["/platform/api/hwmon", "/reconciler/api/status"]
HOST = "127.0.0.1"


def make_secrets(root: Path) -> Path:
    d = root / "secrets"
    d.mkdir(mode=0o700)
    for name in SECRETS:
        (d / name).write_text(f"bench-{name}-value\n")
        (d / name).chmod(0o600)
    return d


def start_server(state: Path, secrets: Path) -> tuple[subprocess.Popen[str], int]:
    common = ["-f", str(SPEC), "--state-dir", str(state), "--secrets-dir", str(secrets)]
    subprocess.run([str(RECONCILE), "apply", *common, "--yes"], capture_output=True, check=True)
    proc = subprocess.Popen(
        [str(RECONCILE), "serve", *common, "--listen", f"{HOST}:0"],
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

    async def client() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(HOST, port)
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
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, time.perf_counter() - start, errors


def rss_mib(pid: int) -> float:
    import psutil

    return float(psutil.Process(pid).memory_info().rss) / 2**20


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1]


async def main_async(args: argparse.Namespace, port: int, pid: int) -> None:
    token = await login(port)
    print(f"status endpoint bench: {args.clients} concurrent keep-alive clients, loopback")
    print(f"server RSS after start: {rss_mib(pid):.1f} MiB")
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
    print(f"server RSS after load:  {rss_mib(pid):.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=60000)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        proc, port = start_server(root / "state", make_secrets(root))
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
