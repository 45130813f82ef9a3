"""Plan/apply figures on the full-featured example (sim backend).

Prints: cold wall time of one `reconcile plan` process (the venv's entry point), warm
in-process plan time, apply time (in-process, fresh device each run), peak RSS of the
`reconcile plan` process, apply scaling on sim (N new firewall rules, then one change among
5,000), warm (in-agent) plan cost per item at N=1,000, cold plan cost per item (firewall
rule, user with a password, Modbus zone: plans of N=2,000 and of 0 items in interleaved
pairs, the median difference in wall and in CPU time, which a passing load distorts less)
and the `python -X importtime` of one cold plan (written to
bench/output/importtime-plan.txt). Targets from issue 19: cold plan <= 0.25 s, 5,000 new
rules <= 1.5 s, one change <= 50 ms, warm plan <= 10 us per item.

Run: .venv/bin/python bench/plan.py
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchkit import make_secrets

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "examples" / "full-featured.yaml"
RECONCILE = REPO / ".venv" / "bin" / "reconcile"


def cold_plan(state: Path, secrets: Path, runs: int = 10) -> tuple[list[float], list[float], int]:
    """Wall and CPU seconds of `reconcile plan` processes in steady state, and peak RSS."""
    cmd = [str(RECONCILE), "apply", "-f", str(SPEC), "--state-dir", str(state)]
    cmd += ["--secrets-dir", str(secrets), "--yes"]
    subprocess.run(cmd, capture_output=True, check=False, env=_bench_env())  # steady state
    cmd = [str(RECONCILE), "plan", *cmd[2:-1]]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=_bench_env())
    if proc.returncode not in (0, 2):
        sys.exit(f"plan failed: {proc.stderr}")
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = _wall_and_cpu(cmd)
        walls.append(wall)
        cpus.append(cpu)
    rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return walls, cpus, rss_kb


def warm_plan(state: Path, secrets: Path, runs: int = 200) -> list[float]:
    from reconciler import operations as ops
    from reconciler.secrets import SecretResolver

    target = ops.load_target(str(SPEC), None, None)
    backend = ops.open_backend("sim", state, target.spec.metadata.model)
    store = ops.open_store(state)
    resolver = SecretResolver(secrets)
    ops.compute_plan(target, backend, store, resolver)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        ops.compute_plan(_fresh(target), backend, store, resolver)
        times.append(time.perf_counter() - t)
    return times


def _fresh(target: Any) -> Any:
    """The agent's pass: models built, but a new Target (nothing derived from it kept)."""
    from reconciler import operations as ops

    return ops.Target(target.spec, target.source)


def apply_times(root: Path, secrets: Path, runs: int = 10) -> tuple[list[float], int]:
    from reconciler import operations as ops
    from reconciler.secrets import SecretResolver

    target = ops.load_target(str(SPEC), None, None)
    resolver = SecretResolver(secrets)
    times, changes = [], 0
    for i in range(runs):
        state = root / f"apply-{i}"
        backend = ops.open_backend("sim", state, target.spec.metadata.model)
        store = ops.open_store(state)
        t = time.perf_counter()
        with ops.locked(store):
            plan = ops.compute_plan(target, backend, store, resolver)
            result = ops.run_apply(target, plan, backend, store, resolver)
        times.append(time.perf_counter() - t)
        changes = result.applied
        if result.status != "applied":
            sys.exit(f"apply failed: {result.error}")
    return times, changes


def _bench_env() -> dict[str, str]:
    """Measure what users get: byte-code caches on (a shell may have turned them off)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def import_times(state: Path, secrets: Path) -> Path:
    """`python -X importtime` of one `reconcile plan`, kept under bench/output/."""
    cmd = [str(REPO / ".venv" / "bin" / "python"), "-X", "importtime", str(RECONCILE)]
    cmd += ["plan", "-f", str(SPEC), "--state-dir", str(state), "--secrets-dir", str(secrets)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_bench_env(), check=False)
    out = REPO / "bench" / "output" / "importtime-plan.txt"
    out.parent.mkdir(exist_ok=True)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("import time:")]
    out.write_text("\n".join(lines) + "\n")
    return out


def _device(spec: dict[str, Any]) -> Any:
    from reconciler import operations as ops
    from reconciler.spec.device import DeviceSpec

    doc = {"apiVersion": "reconciler/v1", "kind": "Device", "spec": spec}
    doc["metadata"] = {"name": "bench", "model": "UNO-2484G"}
    return ops.Target(DeviceSpec.model_validate(doc), "bench")


def _rules(n: int, port_of_middle: int | None = None) -> list[dict[str, Any]]:
    rules = [{"name": f"r{i}", "port": 1024 + i % 60000, "protocol": "tcp"} for i in range(n)]
    if port_of_middle is not None:
        rules[n // 2]["port"] = port_of_middle
    return rules


def _timed_apply(target: Any, state: Path) -> tuple[float, int]:
    from reconciler import operations as ops

    backend = ops.open_backend("sim", state, "UNO-2484G")
    store = ops.open_store(state)
    t = time.perf_counter()
    with ops.locked(store):
        plan = ops.compute_plan(target, backend, store, lambda name: name)
        result = ops.run_apply(target, plan, backend, store, lambda name: name)
    if result.status != "applied":
        sys.exit(f"apply failed: {result.error}")
    return time.perf_counter() - t, result.applied


def apply_scaling(
    root: Path, sizes: tuple[int, ...] = (10, 1000, 5000), runs: int = 3, changes: int = 9
) -> list[str]:
    """Apply of N new firewall rules on fresh sim devices (median of `runs`), then one
    change among them (median of `changes` applies, the changed rule's port alternating)."""
    lines = []
    for n in sizes:
        news = []
        for run in range(runs):
            state = root / f"scale-{n}-{run}"
            new, count = _timed_apply(_device({"firewall": {"inbound": _rules(n)}}), state)
            news.append(new)
        ones = []
        for k in range(changes):
            spec = _device({"firewall": {"inbound": _rules(n, 7 + k % 2)}})
            one, changed = _timed_apply(spec, state)
            ones.append(one)
        new, one = statistics.median(news), statistics.median(ones)
        lines.append(
            f"apply on sim, {count:>5} new rules: {new * 1000:8.1f} ms ({new / count * 1e6:6.0f} us"
            f"/rule); then {changed} change among them: {one * 1000:7.1f} ms (medians)"
        )
    return lines


def _item_kinds() -> dict[str, Callable[[int], dict[str, Any]]]:
    """Spec sections of k items of each kind the issue sets a per-item target for."""
    zone = {"table": "input", "quantity": 2, "dataType": "float32", "tag": "system.cpuPercent"}
    return {
        "firewall rule": lambda k: {"firewall": {"inbound": _rules(k)}},
        "user with a password secretRef": lambda k: {
            "access": {
                "users": [
                    {"name": f"u{i}", "password": {"secretRef": "operator-password"}}
                    for i in range(k)
                ]
            }
        },
        "Modbus zone": lambda k: {
            "modbus": {
                "slave": {
                    "tcp": {"port": 5020, "unitId": 1},
                    "zones": [{"name": f"z{i}", "address": 2 * i} | zone for i in range(k)],
                }
            }
        },
    }


def _warm_planner(target: Any, state: Path, secrets: Callable[[str], str]) -> Callable[[], float]:
    """Apply `target` on a fresh sim device; returns a timer of the agent's re-plan of it
    (steady state: nothing to change)."""
    from reconciler import operations as ops

    backend = ops.open_backend("sim", state, "UNO-2484G")
    store = ops.open_store(state)
    with ops.locked(store):
        plan = ops.compute_plan(target, backend, store, secrets)
        ops.run_apply(target, plan, backend, store, secrets)
    ops.compute_plan(target, backend, store, secrets)  # fills the memo of verified passwords

    def timed() -> float:
        t = time.perf_counter()
        ops.compute_plan(_fresh(target), backend, store, secrets)
        return time.perf_counter() - t

    return timed


def warm_per_item(root: Path, secrets: Path, n: int = 1000, runs: int = 30) -> list[str]:
    """The agent's in-process re-plan (models built, nothing to change) of N items minus
    that of no items, per item; the two are timed in turns, so load hits both alike."""
    from reconciler.secrets import SecretResolver

    resolver = SecretResolver(secrets)
    base = _warm_planner(_device({"system": {"hostname": "bench"}}), root / "w0", resolver)
    lines = []
    for label, make in _item_kinds().items():
        full = _warm_planner(_device(make(n)), root / f"w-{label[:4]}", resolver)
        pairs = [(base(), full()) for _ in range(runs)]
        empty = statistics.median(b for b, _ in pairs)
        per = (statistics.median(f for _, f in pairs) - empty) / n * 1e6
        lines.append(f"warm plan per {label} (N={n}, steady): {per:7.1f} us   target <= 10 us")
    return lines


def _steady_plan_command(root: Path, secrets: Path, tag: str, spec: dict[str, Any]) -> list[str]:
    """Write the spec, apply it (steady state), return the `reconcile plan` command."""
    spec_file = root / f"{tag}.yaml"
    doc = {"apiVersion": "reconciler/v1", "kind": "Device", "spec": spec}
    doc["metadata"] = {"name": "bench", "model": "UNO-2484G"}
    spec_file.write_text(json.dumps(doc))
    args = ["-f", str(spec_file), "--state-dir", str(root / tag), "--secrets-dir", str(secrets)]
    done = subprocess.run(
        [str(RECONCILE), "apply", *args, "--yes"], capture_output=True, text=True, env=_bench_env()
    )
    if done.returncode != 0:
        sys.exit(f"{tag}: apply failed: {done.stdout[-300:]}{done.stderr[-300:]}")
    return [str(RECONCILE), "plan", *args]


def _wall_and_cpu(cmd: list[str]) -> tuple[float, float]:
    """One process: wall seconds and CPU seconds (user + system) it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, capture_output=True, env=_bench_env(), check=False)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def cold_per_item(root: Path, secrets: Path, n: int = 2000, runs: int = 9) -> list[str]:
    """Cold `reconcile plan` of N items minus that of 0 items, per item (steady state).

    The two plans run in interleaved pairs and the median of the pairs' differences is
    reported, in wall and in CPU time: a load that comes and goes hits both of a pair."""
    lines = []
    for label, make in _item_kinds().items():
        tag = label.split()[0]
        empty = _steady_plan_command(root, secrets, f"{tag}-0", {"system": {"hostname": "b"}})
        full = _steady_plan_command(root, secrets, f"{tag}-{n}", make(n))
        walls, cpus = [], []
        for _ in range(runs):
            wall_0, cpu_0 = _wall_and_cpu(empty)
            wall_n, cpu_n = _wall_and_cpu(full)
            walls.append((wall_n - wall_0) / n * 1e6)
            cpus.append((cpu_n - cpu_0) / n * 1e6)
        target = 100 if label.startswith("user") else 75
        lines.append(
            f"cold plan per {label} (N={n} vs 0, {runs} pairs, medians): "
            f"wall {statistics.median(walls):5.0f} us, CPU {statistics.median(cpus):5.0f} us"
            f"   target <= {target} us"
        )
    return lines


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms"


def main() -> None:
    if not RECONCILE.exists():
        sys.exit("run `make test` or `make demo` first: .venv/bin/reconcile is missing")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        secrets = make_secrets(root, SPEC, ["operator-password"])
        os.environ.pop("RECONCILER_FAILPOINT", None)
        cold, cold_cpu, rss_kb = cold_plan(root / "cold", secrets)
        warm = warm_plan(root / "warm", secrets)
        applies, changes = apply_times(root, secrets)
        imports = import_times(root / "cold", secrets)
        scaling = apply_scaling(root)
        warm_items = warm_per_item(root, secrets)
        per_item = cold_per_item(root, secrets)
    print(f"spec: {SPEC.relative_to(REPO)}")
    print(f"cold `reconcile plan` (process wall time, 10 runs): {ms(cold)}   target < 250 ms")
    print(f"cold `reconcile plan` (process CPU time, same runs): {ms(cold_cpu)}")
    print(f"warm in-process plan (200 runs):                   {ms(warm)}   target < 20 ms")
    print(f"apply of {changes} changes, fresh sim device (10 runs):  {ms(applies)}")
    print(f"peak RSS of `reconcile plan`: {rss_kb / 1024:.1f} MiB")
    print("\n".join(scaling))
    print("\n".join(warm_items))
    print("\n".join(per_item))
    print(f"import times of one cold plan: {imports.relative_to(REPO)}")


if __name__ == "__main__":
    main()
