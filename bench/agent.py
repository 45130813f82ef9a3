"""Agent figures: push-to-applied latency and idle cost.

- local-directory source (inotify events; --interval 60 so only events explain it):
  time from writing a changed device file to the change on the simulated device;
- Git source with a short interval (--interval 1): time from `git push` returning to the
  change on the device;
  each median and max over 20 pushes;
- the agent's RSS and CPU % over 60 s idle (local-directory source, default intervals).

Targets from the issue: under 2 s after the change is visible to the agent; idle CPU under
1 %; RSS under 80 MB. Run: .venv/bin/python bench/agent.py [--idle-seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RECONCILE = REPO / ".venv" / "bin" / "reconcile"
PUSHES = 20

FLEET = "apiVersion: reconciler/v1\nkind: Fleet\nspec:\n  system: {timezone: UTC}\n"
DEVICE = """apiVersion: reconciler/v1
kind: Device
metadata: {{name: bench-gw, model: UNO-2484G, labels: {{site: lab}}}}
spec:
  system: {{hostname: bench-gw, description: "{description}"}}
  leds: {{0: "on"}}
"""


def write_fleet(root: Path, description: str) -> Path:
    (root / "devices").mkdir(parents=True, exist_ok=True)
    (root / "fleet.yaml").write_text(FLEET)
    device = root / "devices" / "bench-gw.yaml"
    device.write_text(DEVICE.format(description=description))
    return device


def start_agent(source: str, state: Path, *extra: str) -> subprocess.Popen[bytes]:
    cmd = [str(RECONCILE), "agent", "--source", source, "--device", "bench-gw"]
    cmd += ["--state-dir", str(state), "--log-level", "warning", *extra]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def description_on_device(state: Path) -> str | None:
    try:
        data = json.loads((state / "sim" / "device.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    return str(data["state"]["system"]["description"])


def wait_applied(state: Path, description: str, timeout: float = 30.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if description_on_device(state) == description:
            return time.perf_counter() - start
        time.sleep(0.005)
    sys.exit(f"agent did not apply {description!r} within {timeout} s")


def local_latencies(root: Path) -> tuple[list[float], subprocess.Popen[bytes], Path]:
    fleet, state = root / "local-fleet", root / "local-state"
    device = write_fleet(fleet, "v0")
    agent = start_agent(str(fleet), state, "--interval", "60")
    wait_applied(state, "v0", timeout=60)
    times = []
    for i in range(1, PUSHES + 1):
        device.write_text(DEVICE.format(description=f"v{i}"))
        times.append(wait_applied(state, f"v{i}"))
    return times, agent, state


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def git_latencies(root: Path) -> list[float]:
    remote, work, state = root / "remote.git", root / "work", root / "git-state"
    git(root, "init", "-q", "--bare", "--initial-branch=main", str(remote))
    git(root, "init", "-q", "--initial-branch=main", str(work))
    git(work, "config", "user.email", "bench@example.com")
    git(work, "config", "user.name", "bench")
    git(work, "remote", "add", "origin", str(remote))
    device = write_fleet(work, "g0")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "g0")
    git(work, "push", "-q", "origin", "main")
    agent = start_agent(f"file://{remote}", state, "--interval", "1")
    try:
        wait_applied(state, "g0", timeout=60)
        times = []
        for i in range(1, PUSHES + 1):
            device.write_text(DEVICE.format(description=f"g{i}"))
            git(work, "commit", "-qam", f"g{i}")
            git(work, "push", "-q", "origin", "main")
            times.append(wait_applied(state, f"g{i}"))
        return times
    finally:
        agent.terminate()
        agent.wait(timeout=30)


def idle(agent: subprocess.Popen[bytes], seconds: float) -> tuple[float, float]:
    """(CPU %, RSS MiB) of the agent process over `seconds` with nothing to do."""
    import psutil

    proc = psutil.Process(agent.pid)
    proc.cpu_percent(interval=None)
    time.sleep(seconds)
    return proc.cpu_percent(interval=None), proc.memory_info().rss / 2**20


def summary(values: list[float]) -> str:
    return (
        f"median {statistics.median(values) * 1000:.0f} ms, "
        f"max {max(values) * 1000:.0f} ms ({len(values)} pushes)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    args = parser.parse_args()
    if not RECONCILE.exists():
        sys.exit("run `make test` or `make demo` first: .venv/bin/reconcile is missing")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        local, agent, _ = local_latencies(root)
        try:
            cpu, rss = idle(agent, args.idle_seconds)
        finally:
            agent.terminate()
            agent.wait(timeout=30)
        remote = git_latencies(root)
    print(f"local directory source, edit -> applied:        {summary(local)}   target < 2 s")
    print(f"git source (--interval 1), push -> applied:      {summary(remote)}   target < 2 s")
    print(
        f"idle over {args.idle_seconds:.0f} s: CPU {cpu:.2f} %, RSS {rss:.1f} MiB"
        "   targets < 1 %, < 80 MB"
    )


if __name__ == "__main__":
    main()
