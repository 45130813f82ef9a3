"""Portal backend figures, against emulated units served by uvicorn on loopback.

- plan and apply of one device through `reconcile` (requests the unit saw, seconds);
- `reconcile plan --fleet DIR --all` and `apply --all` over 200 and 1,000 emulated devices
  at concurrency 50 (seconds, peak RSS of the reconcile process), with the single-device
  plan as the peer: `per device` shows what concurrency buys over planning one at a time.

The emulators run in their own processes (several, routing by path prefix), so the
figures are the reconciler's, not the emulator's share of the 2 cores.
Goal from the issue: 1,000 devices planned in <= 20 s on 2 cores.
Run: .venv/bin/python bench/portal.py [--sizes 200,1000] [--servers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RECONCILE = REPO / ".venv" / "bin" / "reconcile"
PYTHON = REPO / ".venv" / "bin" / "python"

SPEC = """apiVersion: reconciler/v1
kind: Device
metadata:
  name: {name}
  model: UNO-2484G
  connection: {{backend: portal, url: "{url}", credentials: {{secretRef: unit-login}}}}
spec:
  watchdog: {{enabled: true, timeoutSeconds: 30}}
  leds: {{0: "on", 1: "on"}}
  brightness: 7
  services: {{telnet: stopped}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_emulator(devices: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [str(PYTHON), "-m", "reconciler.drivers.portal.emulator", "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--devices", str(devices)])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/d/0/auth/token", timeout=1)
        except urllib.error.HTTPError:
            return proc, url  # 401: it answers
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the emulator did not start")


def make_fleet(root: Path, urls: list[str], count: int) -> None:
    (root / "devices").mkdir(parents=True)
    (root / "fleet.yaml").write_text("apiVersion: reconciler/v1\nkind: Fleet\n")
    for i in range(count):
        url = f"{urls[i % len(urls)]}/d/{i // len(urls)}"
        name = f"unit-{i:04}"
        (root / "devices" / f"{name}.yaml").write_text(SPEC.format(name=name, url=url))


def timed(args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """(seconds, peak RSS in MB of that reconcile process alone, stdout) of one run."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([str(RECONCILE), *args], stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read()
        if proc.returncode not in (0, 2):
            sys.stderr.write(stdout[-2000:] + err.read()[-2000:])
            raise SystemExit(f"reconcile {args[0]} failed ({proc.returncode})")
    return seconds, usage.ru_maxrss // 1024, stdout


def requests_of(url: str) -> int:
    with urllib.request.urlopen(url + "/stats", timeout=5) as r:
        return int(json.load(r)["requests"])


def one_device(tmp: Path, env: dict[str, str]) -> float:
    proc, url = start_emulator(1)
    try:
        spec = tmp / "one.yaml"
        spec.write_text(SPEC.format(name="unit-one", url=f"{url}/d/0"))
        common = ["--backend", "portal", "--endpoint", f"{url}/d/0"]
        common += ["--credentials", "unit-login", "--state-dir", str(tmp / "one-state")]
        marks = [requests_of(url)]
        plan_s, _, _ = timed(["plan", "-f", str(spec), *common], env)
        marks.append(requests_of(url))
        apply_s, _, _ = timed(["apply", "--yes", "-f", str(spec), *common], env)
        marks.append(requests_of(url))
        print(f"one device  plan : {marks[1] - marks[0]:3} requests  {plan_s:6.2f} s")
        print(f"one device  apply: {marks[2] - marks[1]:3} requests  {apply_s:6.2f} s")
        return plan_s
    finally:
        proc.terminate()
        proc.wait()


def fleet_run(tmp: Path, env: dict[str, str], count: int, servers: int, peer: float) -> None:
    procs, urls = [], []
    for _ in range(servers):
        proc, url = start_emulator((count + servers - 1) // servers)
        procs.append(proc)
        urls.append(url)
    try:
        root = tmp / f"fleet-{count}"
        make_fleet(root, urls, count)
        base = ["--fleet", str(root), "--all", "--concurrency", "50"]
        base += ["--state-dir", str(tmp / f"state-{count}")]
        for what in ("plan", "apply", "plan"):
            extra = ["--yes"] if what == "apply" else []
            seconds, rss, out = timed([what, *base, *extra, "--json"], env)
            summary = json.loads(out)["summary"]
            shown = ", ".join(f"{n} {k}" for k, n in summary.items() if n)
            print(
                f"--all {count:5} {what:5}: {seconds:6.2f} s  peak RSS {rss:4} MB  "
                f"{seconds / count * 1000:6.1f} ms/device ({peer * 1000:.0f} ms one at a time)"
                f"  [{shown}]"
            )
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,1000")
    parser.add_argument("--servers", type=int, default=2, help="emulator processes")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env["RECONCILER_SECRET_UNIT_LOGIN"] = "operator:os-pass-1"
    with tempfile.TemporaryDirectory() as tmp:
        peer = one_device(Path(tmp), env)
        for size in (int(s) for s in args.sizes.split(",")):
            fleet_run(Path(tmp), env, size, args.servers, peer)
    print("goal: 1,000 devices planned in <= 20 s on 2 cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
