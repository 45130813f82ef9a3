"""`reconcile fleet validate` on generated fleets (20 groups; 1,000 and 10,000 devices by
default, `--devices 1000 10000 100000` for the issue's full set).

Generates each fleet in a temporary directory (10 site groups, 6 role groups, 4 site+role
groups; two hardware models; device files shaped like the reference fleet's), then runs the
venv's `reconcile` entry point and prints wall time, CPU time (user + system of the process
and its workers: steadier than wall time on a shared machine), devices per second and peak
RSS (summed over the process and its workers, sampled; and the largest one). `--baseline
DIR` also runs another source tree (an older checkout) on the same fleet, interleaved.
Targets from issue 19, on 2 cores: 10,000 devices <= 4 s; 100,000 <= 45 s and <= 400 MiB.

Run: .venv/bin/python bench/fleet.py [--devices N ...] [--jobs N] [--repeat N]
     [--baseline DIR] [--out bench/output/validate.txt]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
RECONCILE = REPO / ".venv" / "bin" / "reconcile"
PYTHON = REPO / ".venv" / "bin" / "python"
TARGETS = {10_000: (4, None), 100_000: (45, 400)}
"""Devices -> (seconds, MiB of RSS over all processes) from issue 19, on 2 cores."""
SITES = [f"site-{i:02d}" for i in range(10)]
TIMEZONES = ["Europe/Berlin", "Europe/Paris", "America/Chicago", "Asia/Tokyo", "UTC"]
ROLES = ["modbus-gateway", "wifi-ap", "telemetry"]
HEADER = "# yaml-language-server: $schema=../../schemas/{kind}.schema.json\n"

FLEET = """\
# yaml-language-server: $schema=../schemas/fleet.schema.json
apiVersion: reconciler/v1
kind: Fleet
policy: {requiredLabels: [site, role], requireSiteGroup: true}
spec:
  system: {timezone: UTC, ntp: [pool.ntp.org]}
  watchdog: {enabled: true, timeoutSeconds: 60}
  access:
    roles:
      - {name: viewer, permissions: ["status:read"]}
    users:
      - {name: monitor, roles: [viewer], password: {secretRef: monitor-password}}
    passwordPolicy: {lengthMin: 12, atLeastOneDigit: true}
    ssh: {enable: true, port: 22, passwordAuthentication: false}
  cloud:
    mqtt: {port: 8883, tls: true, password: {secretRef: mqtt-password}, keepAliveSec: 60}
  update:
    allowUpdate: true
    allowOverCellular: false
    maintenanceWindow: {cron: "0 2 * * 0", durationMinutes: 120}
  services: {ssh: running, telnet: stopped}
"""


def group(name: str, selector: str, priority: int, spec: str) -> str:
    return (
        HEADER.format(kind="group")
        + f"apiVersion: reconciler/v1\nkind: Group\nmetadata: {{name: {name}}}\n"
        + f"selector: {selector}\npriority: {priority}\nspec:\n{spec}"
    )


def groups() -> dict[str, str]:
    out = {}
    for i, site in enumerate(SITES):
        out[site] = group(
            site,
            f"{{site: {site}}}",
            10,
            f"  system: {{timezone: {TIMEZONES[i % len(TIMEZONES)]}}}\n"
            f"  network:\n    dns: {{primary: 10.{i}.0.53, secondary: 1.1.1.1}}\n"
            f"  cloud:\n    mqtt: {{host: broker.{site}.example, topicPrefix: sites/{site}}}\n",
        )
    out["modbus-gateways"] = group(
        "modbus-gateways",
        "{role: modbus-gateway}",
        20,
        "  firewall:\n    inbound:\n"
        "      - {name: modbus, port: 502, protocol: tcp, source: 10.0.0.0/8}\n"
        "  serial:\n    ports:\n      1: {mode: rs485-2w, baudRate: 9600, parity: none}\n"
        "  modbus:\n    slave:\n      tcp: {port: 502, unitId: 1}\n      zones:\n"
        "        - {name: cpu, table: input, address: 0, quantity: 2, dataType: float32, "
        "tag: system.cpuPercent}\n",
    )
    out["wifi-aps"] = group(
        "wifi-aps",
        "{role: wifi-ap}",
        20,
        "  network:\n    wifi:\n      wlan0:\n        mode: ap\n        ap: {security: "
        "wpa2-personal, psk: {secretRef: ap-psk}, band: band24, channel: auto}\n",
    )
    out["telemetry"] = group(
        "telemetry", "{role: telemetry}", 20, "  cloud:\n    mqtt: {keepAliveSec: 120}\n"
    )
    out["cellular-backup"] = group(
        "cellular-backup",
        "{uplink: cellular}",
        30,
        "  network:\n    routePriority: [eth0, wwan0]\n    cellular:\n      wwan0: "
        "{enabled: true, apn: iot.example, pin: {secretRef: sim-pin}}\n",
    )
    out["uno-boxes"] = group(
        "uno-boxes",
        "{model: uno}",
        5,
        "  leds: {0: on}\n  gpio:\n    pins:\n      0: {direction: output, level: low}\n",
    )
    out["aig-boxes"] = group(
        "aig-boxes", "{model: aig}", 5, "  io:\n    do:\n      1: {mode: do, initialState: off}\n"
    )
    for i, site in enumerate(SITES[:4]):
        out[f"{site}-gateways"] = group(
            f"{site}-gateways",
            f"{{site: {site}, role: modbus-gateway}}",
            30,
            "  modbus:\n    master:\n      devices:\n        - name: plc1\n"
            f"          tcp: {{host: 192.168.{i}.10, port: 502, unitId: 1}}\n"
            "          commands:\n            - {name: speed, function: readHolding, "
            "address: 100, quantity: 2, dataType: uint32, intervalMs: 1000}\n",
        )
    assert len(out) == 20, len(out)
    return out


def device(i: int) -> tuple[str, str]:
    site = SITES[i % len(SITES)]
    role = ROLES[i % 7 % len(ROLES)]
    aig = i % 3 == 0
    name = f"dev-{i:05d}"
    labels = f"{{site: {site}, role: {role}, model: {'aig' if aig else 'uno'}"
    labels += ", uplink: cellular}" if aig and i % 2 == 0 else "}"
    spec = (
        f"  system:\n    hostname: {name}\n    description: Generated device {i}\n"
        f"  network:\n    interfaces:\n"
        f"      eth0: {{dhcp: false, address: 10.{i % 10}.{i // 250 % 250}.{i % 250 + 2}/16, "
        f"gateway: 10.{i % 10}.0.1}}\n"
    )
    if role == "wifi-ap":
        spec += f"    wifi:\n      wlan0:\n        ap: {{ssid: ap-{i:05d}}}\n"
    spec += f"  cloud:\n    mqtt: {{username: {name}, clientId: {name}}}\n"
    text = (
        HEADER.format(kind="device")
        + "apiVersion: reconciler/v1\nkind: Device\nmetadata:\n"
        + f"  name: {name}\n  model: {'AIG-302' if aig else 'UNO-2484G'}\n  labels: {labels}\n"
        + "spec:\n"
        + spec
    )
    return name, text


def generate(root: Path, devices: int) -> None:
    (root / "groups").mkdir(parents=True)
    (root / "devices").mkdir()
    (root / "fleet.yaml").write_text(FLEET)
    for name, text in groups().items():
        (root / "groups" / f"{name}.yaml").write_text(text)
    for i in range(devices):
        name, text = device(i)
        (root / "devices" / f"{name}.yaml").write_text(text)


@dataclass
class Run:
    """One `fleet validate` process tree: figures and what it printed."""

    wall: float
    cpu: float
    """User + system seconds of the process and the workers it reaped."""
    largest: int
    tree: int
    """Peak RSS summed over the process and its workers (sampled), bytes."""
    result: subprocess.CompletedProcess[str]


def _sample_tree(pid: int, done: threading.Event, peak: list[int]) -> None:
    """Keep the largest sum of RSS over the process and its children in peak[0]."""
    try:
        proc = psutil.Process(pid)
        while not done.is_set():
            total = 0
            for p in [proc, *proc.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            peak[0] = max(peak[0], total)
            time.sleep(0.02)
    except psutil.Error:
        return


def run(root: Path, jobs: int | None, tree: Path | None = None) -> Run:
    """`reconcile fleet validate ROOT` (from the source tree `tree` when given)."""
    cmd = [str(RECONCILE), "fleet", "validate", str(root)]
    env = dict(os.environ)
    if tree is not None:
        cmd = [str(PYTHON), "-P", "-m", "reconciler.cli", "fleet", "validate", str(root)]
        env["PYTHONPATH"] = str(tree)
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    peak, done = [0], threading.Event()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        sampler = threading.Thread(target=_sample_tree, args=(child.pid, done, peak), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)  # rusage: the process and reaped workers
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        result = subprocess.CompletedProcess(
            cmd, child.returncode, out.read().decode(), err.read().decode()
        )
    cpu = usage.ru_utime + usage.ru_stime
    return Run(wall, cpu, usage.ru_maxrss * 1024, peak[0], result)


def measure(devices: int, jobs: int | None, baseline: Path | None, repeat: int) -> list[str]:
    """Generate a fleet of `devices`, validate it `repeat` times (interleaved with the
    baseline tree's runs), and return the report lines (best run of each)."""
    lines = []
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        root = Path(tmp) / "fleet"
        generate(root, devices)
        trees: list[tuple[str, Path | None]] = [("this tree", None)]
        if baseline is not None:
            trees.append((f"baseline {baseline.name}", baseline))
        best: dict[str, Run] = {}
        for _ in range(repeat):
            for label, tree in trees:
                got = run(root, jobs, tree)
                if got.result.returncode != 0:
                    print(got.result.stderr[-2000:], file=sys.stderr)
                    sys.exit(f"validate exited {got.result.returncode} ({label})")
                if label not in best or got.wall < best[label].wall:
                    best[label] = got
        for label, got in best.items():
            lines.append(
                f"{devices:>7,} devices  {label}: wall {got.wall:6.2f} s  cpu {got.cpu:6.2f} s  "
                f"{devices / got.wall:7,.0f} devices/s  peak RSS {got.tree / 2**20:4.0f} MiB "
                f"all processes ({got.largest / 2**20:.0f} MiB largest)"
            )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--jobs", type=int, help="passed to --jobs (default: one per CPU)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; the best shown")
    parser.add_argument(
        "--baseline", type=Path, help="also run this source tree (e.g. an older checkout)"
    )
    parser.add_argument("--out", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if not RECONCILE.exists():
        sys.exit(f"{RECONCILE} not found: run `make test` (or pip install -e .) first")
    load = os.getloadavg()[0]
    lines = [
        f"`reconcile fleet validate`, generated fleets (20 groups), {len(os.sched_getaffinity(0))}"
        f" cpus, load average {load:.1f} at the start; targets: 10,000 devices <= "
        f"{TARGETS[10_000][0]} s, 100,000 <= {TARGETS[100_000][0]} s and "
        f"{TARGETS[100_000][1]} MiB"
    ]
    print(lines[0], flush=True)
    for devices in args.devices:
        for line in measure(devices, args.jobs, args.baseline, args.repeat):
            print(line, flush=True)
            lines.append(line)
    if args.out is not None:
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
