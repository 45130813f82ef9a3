"""`reconcile fleet validate` on a generated fleet of 10,000 devices in 20 groups.

Generates the fleet in a temporary directory (10 site groups, 6 role groups, 4 site+role
groups; two hardware models; device files shaped like the reference fleet's), then runs the
venv's `reconcile` entry point as a subprocess and prints wall time, devices per second and
peak RSS (largest single process, and the sampled sum over the process and its workers).
Target from the issue: under 15 s on a 2-core machine.

Run: .venv/bin/python bench/fleet.py [--devices N] [--jobs N] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
RECONCILE = REPO / ".venv" / "bin" / "reconcile"
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


def run(root: Path, jobs: int | None) -> tuple[float, int, int, subprocess.CompletedProcess[str]]:
    """Wall time, peak RSS of the largest process and of the whole tree (bytes)."""
    cmd = [str(RECONCILE), "fleet", "validate", str(root)]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    peak_tree = 0
    done = threading.Event()

    def sample(pid: int) -> None:
        nonlocal peak_tree
        try:
            proc = psutil.Process(pid)
            while not done.is_set():
                total = 0
                for p in [proc, *proc.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += p.memory_info().rss
                peak_tree = max(peak_tree, total)
                time.sleep(0.02)
        except psutil.Error:
            return

    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = threading.Thread(target=sample, args=(child.pid,), daemon=True)
    sampler.start()
    out, err = child.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    result = subprocess.CompletedProcess(cmd, child.returncode, out, err)
    return wall, largest, peak_tree, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, help="passed to --jobs (default: one per CPU)")
    parser.add_argument("--keep", action="store_true", help="keep the generated fleet")
    args = parser.parse_args()
    if not RECONCILE.exists():
        sys.exit(f"{RECONCILE} not found: run `make test` (or pip install -e .) first")
    tmp = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    root = tmp / "fleet"
    try:
        t = time.perf_counter()
        generate(root, args.devices)
        print(f"generated {args.devices} devices, 20 groups in {time.perf_counter() - t:.1f} s")
        wall, largest, tree, result = run(root, args.jobs)
        if result.returncode != 0:
            print(result.stderr[-2000:], file=sys.stderr)
            sys.exit(f"validate exited {result.returncode}")
        print(f"result:        {result.stdout.strip().rsplit(': ', 1)[-1]}")
        print(f"cpus:          {len(os.sched_getaffinity(0))}")
        print(f"wall time:     {wall:.2f} s  (target < 15 s)")
        print(f"devices/s:     {args.devices / wall:,.0f}")
        print(
            f"peak RSS:      {largest / 2**20:.0f} MiB largest process, "
            f"{tree / 2**20:.0f} MiB all processes (sampled)"
        )
    finally:
        if args.keep:
            print(f"fleet kept in {root}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
