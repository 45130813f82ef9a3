"""`reconcile fleet status` at 10,000 devices, on loopback only (a mosquitto this script
starts on a free port).

One process publishes N simulated agents' retained statuses (the uplink's Status model; a
few per cent offline through the will's payload, a few never reported); the fleet repo has
the N devices in two groups. Prints, cold (device heads parsed) and warm (heads from the
roster cache), the time `reconcile fleet status --json` takes from
start to exit and its peak RSS, next to two floors measured in the same run: the CLI's
start alone (`reconcile fleet status --help`) and a bare paho subscriber collecting the
same retained messages (same end marker). Goal: <= 5 s and <= 200 MB at 10,000 devices.

Run: .venv/bin/python bench/fleet_status.py [--devices 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "services" / "mqtt")]

import paho.mqtt.client as mqtt  # noqa: E402
from fleet_sim import Endpoint, offline, publish_retained, status, write_repo  # noqa: E402
from mqtt_broker import MOSQUITTO, NO_MOSQUITTO, Broker  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

PREFIX = "bench/fleet"
RECONCILE = REPO / ".venv" / "bin" / "reconcile"


def run_measured(cmd: list[str], cache: Path | None = None) -> tuple[float, float, bytes]:
    """Wall seconds, peak RSS (MB) of exactly this child, and its stdout."""
    env = dict(os.environ, XDG_CACHE_HOME=str(cache)) if cache else None
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, env=env)
        _pid, code, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(code)
        err = proc.stderr.read() if proc.stderr else b""
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{cmd[1:4]} failed ({proc.returncode}): {err.decode()}")
        out.seek(0)
        return elapsed, usage.ru_maxrss / 1024, out.read()


def raw_collect(port: int) -> tuple[float, int]:
    """The floor: a paho subscriber in this process, QoS 0, until its marker is back."""
    got = [0]
    done = threading.Event()
    marker = f"{PREFIX}/fleet/marker/{uuid.uuid4().hex}"
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"floor-{uuid.uuid4().hex[:8]}")

    def on_subscribe(c: mqtt.Client, _u: object, mid: int, _codes: object, _p: object) -> None:
        if mid == 1:
            c.subscribe(marker, 0)
        else:
            c.publish(marker, b"", qos=0)

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == marker:
            done.set()
        else:
            json.loads(msg.payload)
            got[0] += 1

    client.on_connect = lambda c, *_: c.subscribe(f"{PREFIX}/+/status", 0)
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    start = time.perf_counter()
    client.connect("127.0.0.1", port)
    while not done.is_set():
        client.loop(0.1)
    elapsed = time.perf_counter() - start
    client.disconnect()
    return elapsed, got[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    args = parser.parse_args()
    if MOSQUITTO is None:
        raise SystemExit(NO_MOSQUITTO)
    n = args.devices
    names = [f"gw-{i:05d}" for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        devices = {name: {"site": "a" if i % 2 else "b"} for i, name in enumerate(names)}
        head = write_repo(root / "repo", devices, {"site-a": "site: a", "site-b": "site: b"})
        print(f"fleet repo: {n} devices, committed in {time.perf_counter() - t:.1f} s")
        broker = Broker(root / "broker")
        broker.start()
        try:
            reporting = names[: n - n // 50]  # 2 % never reported
            payloads = (
                (
                    f"{PREFIX}/{name}/status",
                    offline(name) if i % 33 == 0 else status(name, "Synced", head),
                )
                for i, name in enumerate(reporting)
            )
            t = time.perf_counter()
            sent = publish_retained(Endpoint(broker.port), payloads, client_id="bench-publisher")
            took = time.perf_counter() - t
            print(f"published {sent} retained statuses (one process, QoS 1) in {took:.1f} s "
                  f"({sent / took:,.0f}/s)")  # fmt: skip
            report(broker.port, root / "repo", n)
        finally:
            broker.stop()


def report(port: int, repo: Path, n: int) -> None:
    url = f"mqtt://127.0.0.1:{port}"
    start_s, start_mb, _ = run_measured([str(RECONCILE), "fleet", "status", "--help"])
    floor_s, floor_n = raw_collect(port)
    cmd = [str(RECONCILE), "fleet", "status", str(repo), "--broker", url, "--prefix", PREFIX]
    cache = repo.parent / "cache"
    cold = run_measured([*cmd, "--json"], cache)  # parses the 10,000 device heads
    runs = [run_measured([*cmd, "--json"], cache) for _ in range(3)]  # heads from the cache
    best = min(runs, key=lambda r: r[0])
    out = json.loads(best[2])
    assert len(out["devices"]) == n, "every device has a row"
    summary = ", ".join(f"{k} {v}" for k, v in out["summary"].items() if v)
    print(f"fleet status, {n:,} devices: {summary}")
    print(
        f"  fleet status --json: best {best[0]:.2f} s of 3 "
        f"(all: {', '.join(f'{r[0]:.2f}' for r in runs)}), "
        f"peak RSS {max(r[1] for r in runs):.0f} MB"
    )
    print(f"  fleet status --json, cold roster cache: {cold[0]:.2f} s, peak RSS {cold[1]:.0f} MB")
    print(f"  floor, CLI start (--help): {start_s:.2f} s, {start_mb:.0f} MB")
    print(f"  floor, bare paho subscriber in-process: {floor_s:.2f} s for {floor_n:,} messages")
    print(f"  ratio fleet status / (start + bare collect): {best[0] / (start_s + floor_s):.1f}x")
    peak = max(r[1] for r in [cold, *runs])
    print(f"  goal <= 5 s (warm): {'met' if best[0] <= 5 else 'NOT met'}; "
          f"<= 200 MB: {'met' if peak <= 200 else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
