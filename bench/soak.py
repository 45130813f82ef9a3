"""Soak: `reconcile agent` under load and faults for a long run (issue 13, "Shutdown and
retention"), everything real and on loopback:

- a fleet repo in a local bare Git repo, the agent on `--interval 1` (sim backend, its own
  state dir), its `--listen` endpoint, a Modbus slave (zones mapped to
  reconciler.lastAppliedAt, system.cpuPercent and a polled PLC value), a Modbus master
  polling a pymodbus PLC in a subprocess, an MQTT uplink to a mosquitto of our own;
- load: a push every 10 s (new description), drift every 3 s (`reconcile sim set`), Modbus
  reads at 10/s, status polls at 5/s (token login, then GET /reconciler/api/status);
- faults: the broker stopped for 60 s, the PLC killed for 30 s, one invalid commit.

Every 30 s it samples the agent (RSS, open FDs, threads) and the sizes of history.db
(+ -wal), the MQTT queue db and the state dir; at the end it prints them over time with
each one's least-squares slope per hour, the push/status/Modbus counts, and how long the
agent took to exit on SIGTERM.
Run: .venv/bin/python bench/soak.py [--minutes 20]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "services" / "mqtt")]
sys.path[:0] = [str(REPO / "tests" / "services" / "modbus")]

import httpx  # noqa: E402
import psutil  # noqa: E402
from modbus_peers import free_port  # noqa: E402
from mqtt_broker import MOSQUITTO, NO_MOSQUITTO, Broker  # noqa: E402
from pymodbus.client import ModbusTcpClient  # noqa: E402
from testkit import SECRETS, subprocess_env  # noqa: E402

RECONCILE = REPO / ".venv" / "bin" / "reconcile"
DEVICE_NAME = "soak-gw"
PUSH_EVERY, DRIFT_EVERY, SAMPLE_EVERY = 10.0, 3.0, 30.0
MODBUS_EVERY, STATUS_EVERY = 0.1, 0.2
BROKER_DOWN, PLC_DOWN = 60.0, 30.0
STOP_BOUND = 60.0
FLEET = "apiVersion: reconciler/v1\nkind: Fleet\nspec:\n  system: {timezone: UTC}\n"
DEVICE = """apiVersion: reconciler/v1
kind: Device
metadata: {{name: soak-gw, model: UNO-2484G, labels: {{site: lab}}}}
spec:
  system: {{hostname: soak-gw, description: "{description}"}}
  leds: {{0: {led}}}
  access:
    roles:
      - {{name: viewer, permissions: ["status:read"]}}
    users:
      - {{name: monitor, roles: [viewer], password: {{secretRef: monitor-password}}}}
  modbus:
    slave:
      tcp: {{port: {slave}, bindAddress: 127.0.0.1, unitId: 1}}
      zones:
        - {{name: applied, table: input, address: 0, quantity: 2, dataType: uint32,
            tag: reconciler.lastAppliedAt}}
        - {{name: cpu, table: input, address: 2, tag: system.cpuPercent}}
        - {{name: speed, table: input, address: 3, tag: modbus.plc1.speed}}
    master:
      devices:
        - name: plc1
          tcp: {{host: 127.0.0.1, port: {plc}, unitId: 1}}
          responseTimeoutMs: 500
          commands:
            - {{name: speed, function: readHolding, address: 100, intervalMs: 200}}
  cloud:
    mqtt:
      host: 127.0.0.1
      port: {broker}
      tls: false
      username: soak-gw
      password: {{secretRef: mqtt-password}}
      topicPrefix: soak
      keepAliveSec: 10
      reportIntervalSec: 5
      storeAndForward: {{enable: true}}
"""
PLC_SCRIPT = """
import sys, time
sys.path.insert(0, sys.argv[1])
from modbus_peers import Plc
plc = Plc(int(sys.argv[2])).start()
plc.holding[100] = 1234
print("ready", flush=True)
while True:
    time.sleep(3600)
"""


@dataclass
class Counts:
    """What the load threads saw; each thread writes only its own keys."""

    tally: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    def note(self, start: float, what: str) -> None:
        self.events.append(f"{time.monotonic() - start:7.1f} s  {what}")


@dataclass
class Rig:
    """The processes and paths of one soak; `procs` holds every process we started."""

    root: Path
    state: Path
    work: Path
    remote: Path
    ports: dict[str, int]
    broker: Broker
    procs: dict[str, subprocess.Popen[Any]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    start: float = field(default_factory=time.monotonic)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout.strip()


def device_text(rig: Rig, description: str, led: str = '"on"') -> str:
    p = rig.ports
    return DEVICE.format(
        description=description, led=led, slave=p["slave"], plc=p["plc"], broker=p["broker"]
    )


def commit_and_push(rig: Rig, text: str, message: str) -> str:
    (rig.work / "devices" / f"{DEVICE_NAME}.yaml").write_text(text)
    git(rig.work, "commit", "-qam", message)
    git(rig.work, "push", "-q", "origin", "main")
    return git(rig.work, "rev-parse", "HEAD")


def make_repo(rig: Rig) -> None:
    git(rig.root, "init", "-q", "--bare", "--initial-branch=main", str(rig.remote))
    git(rig.root, "init", "-q", "--initial-branch=main", str(rig.work))
    git(rig.work, "config", "user.email", "soak@example.com")
    git(rig.work, "config", "user.name", "soak")
    git(rig.work, "remote", "add", "origin", f"file://{rig.remote}")
    (rig.work / "devices").mkdir(parents=True)
    (rig.work / "fleet.yaml").write_text(FLEET)
    (rig.work / "devices" / f"{DEVICE_NAME}.yaml").write_text(device_text(rig, "push-0"))
    git(rig.work, "add", "-A")
    git(rig.work, "commit", "-qm", "push-0")
    git(rig.work, "push", "-q", "origin", "main")


def make_secrets(root: Path) -> Path:
    """Secret files as a device keeps them (mode 0600), like the tests' fixture."""
    path = root / "secrets"
    path.mkdir(mode=0o700)
    for name in ("monitor-password", "mqtt-password"):
        (path / name).write_text(SECRETS[name] + "\n")
        (path / name).chmod(0o600)
    return path


def start_plc(rig: Rig) -> None:
    peers = str(REPO / "tests" / "services" / "modbus")
    proc = subprocess.Popen(
        [sys.executable, "-c", PLC_SCRIPT, peers, str(rig.ports["plc"])],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    rig.procs["plc"] = proc
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        sys.exit("the PLC stand-in did not start")


def start_agent(rig: Rig, secrets: Path) -> None:
    cmd = [str(RECONCILE), "agent", "--source", f"file://{rig.remote}", "--device", DEVICE_NAME]
    cmd += ["--state-dir", str(rig.state), "--secrets-dir", str(secrets)]
    cmd += ["--interval", "1", "--listen", f"127.0.0.1:{rig.ports['http']}"]
    cmd += ["--log-level", "warning"]
    log = (rig.root / "agent.log").open("wb")
    rig.procs["agent"] = subprocess.Popen(
        cmd, env=subprocess_env(), stdout=log, stderr=subprocess.STDOUT
    )
    log.close()


def wait_for(what: str, check: Callable[[], Any], limit: float = 120.0) -> Any:
    """Poll `check` until truthy; a bound on waiting for setup, not a measurement."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            result = check()
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            result = None
        if result:
            return result
        time.sleep(0.1)
    sys.exit(f"gave up waiting for {what}")


def applied_commit(rig: Rig) -> str | None:
    try:
        return json.loads((rig.state / "status.json").read_text()).get("lastAppliedCommit")
    except (OSError, ValueError):
        return None


def every(rig: Rig, period: float) -> Iterator[int]:
    """Ticks at a fixed rate until the soak stops (late ticks are not made up)."""
    tick, due = 0, time.monotonic()
    while not rig.stop.is_set():
        yield tick
        tick += 1
        due = max(due + period, time.monotonic())
        rig.stop.wait(max(0.0, due - time.monotonic()))


def pusher(rig: Rig, counts: Counts, invalid_at: float) -> None:
    """A push every 10 s; each is applied or missed within that period. One is invalid."""
    invalid_done = False
    for i in every(rig, PUSH_EVERY):
        if not invalid_done and time.monotonic() - rig.start >= invalid_at:
            invalid_done = True
            bad = commit_and_push(rig, device_text(rig, f"invalid-{i}", led="sparkle"), "bad")
            counts.note(rig.start, f"pushed invalid commit {bad[:10]}")
            rig.stop.wait(PUSH_EVERY / 2)
            counts.tally["invalid applied"] += applied_commit(rig) == bad
            continue
        pushed = time.monotonic()
        sha = commit_and_push(rig, device_text(rig, f"push-{i + 1}"), f"push-{i + 1}")
        counts.tally["pushes"] += 1
        while time.monotonic() - pushed < PUSH_EVERY - 0.5 and applied_commit(rig) != sha:
            if rig.stop.wait(0.02):
                break
        if applied_commit(rig) == sha:
            counts.latencies.append(time.monotonic() - pushed)
        elif not rig.stop.is_set():
            counts.tally["pushes missed"] += 1
            counts.note(rig.start, f"push {sha[:10]} not applied within {PUSH_EVERY} s")


def drifter(rig: Rig, counts: Counts) -> None:
    """Drift every 3 s: change the simulated device behind the agent's back."""
    cmd = [str(RECONCILE), "sim", "set", "system.description"]
    for i in every(rig, DRIFT_EVERY):
        done = subprocess.run(
            [*cmd, f"drift-{i}", "--state-dir", str(rig.state)],
            capture_output=True,
            env=subprocess_env(),
            timeout=60,
        )
        counts.tally["drifts" if done.returncode == 0 else "drift errors"] += 1


def modbus_reader(rig: Rig, counts: Counts) -> None:
    """Reads at 10/s: the agent's zones (must always answer) and the polled PLC value
    (bad while the PLC is down, counted apart)."""
    client = ModbusTcpClient("127.0.0.1", port=rig.ports["slave"], timeout=2, retries=0)
    try:
        for _ in every(rig, MODBUS_EVERY):
            try:
                if not client.connected and not client.connect():
                    counts.tally["modbus errors"] += 1
                    continue
                own = client.read_input_registers(0, count=3)
                counts.tally["modbus errors" if own.isError() else "modbus reads"] += 1
                plc = client.read_input_registers(3, count=1)
                counts.tally["plc tag errors" if plc.isError() else "plc tag reads"] += 1
            except Exception:  # any failure of a read is an error to count
                counts.tally["modbus errors"] += 1
                client.close()
    finally:
        client.close()


def status_poller(rig: Rig, counts: Counts) -> None:
    """Polls at 5/s with a token from /auth/token (a status:read account); re-login on 401."""
    base = f"http://127.0.0.1:{rig.ports['http']}"
    auth = ("monitor", SECRETS["monitor-password"])
    headers: dict[str, str] = {}
    with httpx.Client(base_url=base, timeout=5) as http:
        for _ in every(rig, STATUS_EVERY):
            try:
                if not headers:
                    token = http.get("/auth/token", auth=auth).raise_for_status().json()["token"]
                    headers = {"Authorization": f"Bearer {token}"}
                reply = http.get("/reconciler/api/status", headers=headers)
                if reply.status_code == 401:
                    headers = {}
                    counts.tally["status re-logins"] += 1
                    continue
                reply.raise_for_status()
                counts.tally["status polls"] += 1
            except (httpx.HTTPError, ValueError, KeyError):
                counts.tally["status errors"] += 1
                headers = {}


def faults(rig: Rig, counts: Counts, broker_at: float, plc_at: float) -> None:
    """The broker down for 60 s, then the PLC killed (SIGKILL) for 30 s."""
    if rig.stop.wait(broker_at):
        return
    counts.note(rig.start, "broker stopped")
    rig.broker.stop()
    rig.stop.wait(BROKER_DOWN)
    rig.broker.start()
    counts.note(rig.start, "broker restarted")
    if rig.stop.wait(max(0.0, plc_at - (time.monotonic() - rig.start))):
        return
    plc = rig.procs["plc"]
    plc.kill()
    plc.wait(timeout=30)
    counts.note(rig.start, "PLC killed")
    if rig.stop.wait(PLC_DOWN):
        return
    start_plc(rig)
    counts.note(rig.start, "PLC restarted")


def sizes(state: Path) -> dict[str, float]:
    """KiB of history.db (+ -wal), the MQTT queue db(s) (+ -wal) and the whole state dir."""

    def kib(paths: Iterator[Path] | list[Path]) -> float:
        return sum(p.stat().st_size for p in paths if p.is_file()) / 1024

    history = [state / "history.db", state / "history.db-wal"]
    queue = [p for p in (state / "mqtt").glob("*.db*") if not p.name.endswith("-shm")]
    return {
        "history KiB": kib(history),
        "mqtt queue KiB": kib(queue),
        "state dir KiB": kib(list(state.rglob("*"))),
    }


def sample(rig: Rig) -> dict[str, float]:
    agent = psutil.Process(rig.procs["agent"].pid)
    with agent.oneshot():
        row = {
            "t s": time.monotonic() - rig.start,
            "RSS MiB": agent.memory_info().rss / 2**20,
            "FDs": float(agent.num_fds()),
            "threads": float(agent.num_threads()),
        }
    return row | sizes(rig.state)


def sampler(rig: Rig, rows: list[dict[str, float]]) -> None:
    for _ in every(rig, SAMPLE_EVERY):
        try:
            rows.append(sample(rig))
        except (psutil.Error, OSError):
            if rig.procs["agent"].poll() is not None:
                return


def slope_per_hour(ts: list[float], values: list[float]) -> float:
    """Least-squares slope of values over time, per hour."""
    if len(ts) < 2:
        return float("nan")
    mt, mv = statistics.fmean(ts), statistics.fmean(values)
    den = sum((t - mt) ** 2 for t in ts)
    return sum((t - mt) * (v - mv) for t, v in zip(ts, values, strict=True)) / den * 3600


def print_table(rows: list[dict[str, float]]) -> None:
    if not rows:
        print("no samples")
        return
    keys = list(rows[0])
    print("  ".join(f"{k:>14}" for k in keys))
    for row in rows:
        print("  ".join(f"{row[k]:>14.1f}" for k in keys))
    ts = [r["t s"] for r in rows]
    slopes = [slope_per_hour(ts, [r[k] for r in rows]) for k in keys[1:]]
    print("  ".join([f"{'slope / h':>14}", *(f"{s:>+14.1f}" for s in slopes)]))


def stop_agent(rig: Rig) -> tuple[float | None, int | None]:
    """SIGTERM, then the seconds until it exited (None: killed after STOP_BOUND)."""
    agent = rig.procs["agent"]
    began = time.monotonic()
    agent.send_signal(signal.SIGTERM)
    try:
        code = agent.wait(timeout=STOP_BOUND)
    except subprocess.TimeoutExpired:
        agent.kill()
        agent.wait(timeout=30)
        return None, None
    return time.monotonic() - began, code


def report(rig: Rig, rows: list[dict[str, float]], counts: Counts, minutes: float) -> None:
    print(f"\nsoak of {minutes:g} min; faults and events:")
    for event in counts.events:
        print(f"  {event}")
    print()
    print_table(rows)
    t, lat = counts.tally, sorted(counts.latencies)
    print(f"\npushes: {t['pushes']}, applied {len(lat)}, missed {t['pushes missed']}")
    if lat:
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
        print(f"push -> applied: median {statistics.median(lat):.2f} s, p95 {p95:.2f} s")
    print(f"invalid commit applied: {'yes' if t['invalid applied'] else 'no'}")
    print(f"drifts: {t['drifts']} ({t['drift errors']} errors)")
    print(f"status polls: {t['status polls']} ok, {t['status errors']} errors")
    print(f"  ({t['status re-logins']} re-logins on 401)")
    print(f"modbus reads of the agent's zones: {t['modbus reads']} ok, {t['modbus errors']} errors")
    print(f"modbus reads of the PLC value: {t['plc tag reads']} ok, {t['plc tag errors']} errors")
    log = (rig.root / "agent.log").read_text(errors="replace")
    print(f"agent log: {log.count('Traceback')} tracebacks, {len(log.splitlines())} lines")


@contextmanager
def rig_in(root: Path) -> Iterator[Rig]:
    """Broker, repo, PLC and agent up; on exit every process we started is stopped by pid."""
    ports = {name: free_port() for name in ("slave", "plc", "http")}
    broker = Broker(root / "broker")
    ports["broker"] = broker.port
    rig = Rig(root, root / "state", root / "work", root / "remote.git", ports, broker)
    try:
        broker.start()
        make_repo(rig)
        start_plc(rig)
        start_agent(rig, make_secrets(root))
        yield rig
    finally:
        rig.stop.set()
        for proc in rig.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        broker.stop()


def run_load(rig: Rig, seconds: float, counts: Counts, rows: list[dict[str, float]]) -> None:
    """The load and fault threads for `seconds`, then stop them all."""
    broker_at, plc_at, invalid_at = 0.2 * seconds, 0.2 * seconds + BROKER_DOWN + 5, 0.8 * seconds
    threads = [
        threading.Thread(target=pusher, args=(rig, counts, invalid_at)),
        threading.Thread(target=drifter, args=(rig, counts)),
        threading.Thread(target=modbus_reader, args=(rig, counts)),
        threading.Thread(target=status_poller, args=(rig, counts)),
        threading.Thread(target=faults, args=(rig, counts, broker_at, plc_at)),
        threading.Thread(target=sampler, args=(rig, rows)),
    ]
    for thread in threads:
        thread.daemon = True
        thread.start()
    rig.stop.wait(seconds)
    rig.stop.set()
    for thread in threads:
        thread.join(timeout=90)
    if rig.procs["agent"].poll() is None:
        rows.append(sample(rig))


def soak(root: Path, minutes: float) -> None:
    counts, rows = Counts(), []
    with rig_in(root) as rig:
        wait_for("the first apply", lambda: applied_commit(rig))
        base = f"http://127.0.0.1:{rig.ports['http']}"
        wait_for("the endpoint", lambda: httpx.get(f"{base}/auth/ping").text == "pong")
        rig.start = time.monotonic()
        run_load(rig, minutes * 60, counts, rows)
        took, code = stop_agent(rig)
        report(rig, rows, counts, minutes)
    if took is None:
        print(f"SIGTERM: the agent did not exit within {STOP_BOUND:.0f} s (killed)")
    else:
        print(f"SIGTERM -> exit: {took:.2f} s (exit code {code})   target < 10 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=20.0, help="length of the load run")
    args = parser.parse_args()
    if not RECONCILE.exists():
        sys.exit("run `make test` or `make demo` first: .venv/bin/reconcile is missing")
    if MOSQUITTO is None:
        sys.exit(NO_MOSQUITTO)
    if args.minutes < 3:
        sys.exit("--minutes must be at least 3 (the faults alone take 95 s)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("soak interrupted by SIGTERM"))
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        soak(Path(tmp), args.minutes)


if __name__ == "__main__":
    os.umask(0o077)
    main()
