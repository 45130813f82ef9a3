"""Plan/apply figures on the full-featured example (sim backend).

Prints: cold wall time of one `reconcile plan` process (the venv's entry point), warm
in-process plan time, apply time (in-process, fresh device each run), and peak RSS of the
`reconcile plan` process. Targets from the issue: cold plan < 0.6 s, warm plan < 20 ms.

Run: .venv/bin/python bench/plan.py
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "examples" / "full-featured.yaml"
RECONCILE = REPO / ".venv" / "bin" / "reconcile"
SECRETS = [
    "plant-a-wifi",
    "monitor-password",
    "operator-password",
    "mqtt-password",
]


def make_secrets(root: Path) -> Path:
    d = root / "secrets"
    d.mkdir(mode=0o700)
    for name in SECRETS:
        (d / name).write_text(f"bench-{name}-value\n")
        (d / name).chmod(0o600)
    return d


def cold_plan(state: Path, secrets: Path, runs: int = 10) -> tuple[list[float], int]:
    cmd = [str(RECONCILE), "plan", "-f", str(SPEC), "--state-dir", str(state)]
    cmd += ["--secrets-dir", str(secrets)]
    subprocess.run(cmd, capture_output=True, check=False)  # creates the device, warms caches
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - t)
        if proc.returncode not in (0, 2):
            sys.exit(f"plan failed: {proc.stderr}")
    rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return times, rss_kb


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
        ops.compute_plan(target, backend, store, resolver)
        times.append(time.perf_counter() - t)
    return times


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


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms"


def main() -> None:
    if not RECONCILE.exists():
        sys.exit("run `make test` or `make demo` first: .venv/bin/reconcile is missing")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        secrets = make_secrets(root)
        os.environ.pop("RECONCILER_FAILPOINT", None)
        cold, rss_kb = cold_plan(root / "cold", secrets)
        warm = warm_plan(root / "warm", secrets)
        applies, changes = apply_times(root, secrets)
    print(f"spec: {SPEC.relative_to(REPO)}")
    print(f"cold `reconcile plan` (process wall time, 10 runs): {ms(cold)}   target < 600 ms")
    print(f"warm in-process plan (200 runs):                   {ms(warm)}   target < 20 ms")
    print(f"apply of {changes} changes, fresh sim device (10 runs):  {ms(applies)}")
    print(f"peak RSS of `reconcile plan`: {rss_kb / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
