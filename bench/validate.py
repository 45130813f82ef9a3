"""Validation figures on the full-featured example.

Prints: documents/second validated in-process (parse + schema + capability checks, many
iterations, with parse and validate also timed apart); the cold wall time of one
`reconcile validate examples/full-featured.yaml` process (the venv's entry point, median of
10 runs; target < 0.5 s); what a cold run spends its time importing (`-X importtime`,
top-level packages by cumulative time); and a cProfile summary of warm validation.

Run: .venv/bin/python bench/validate.py
"""

from __future__ import annotations

import cProfile
import io
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "examples" / "full-featured.yaml"
RECONCILE = REPO / ".venv" / "bin" / "reconcile"
PYTHON = REPO / ".venv" / "bin" / "python"
COLD_RUNS = 10
TARGET_COLD_S = 0.5


def rate(func: object, seconds: float = 2.0) -> tuple[float, int]:
    """Calls per second of `func` over about `seconds` (after one warm-up call)."""
    assert callable(func)
    func()
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(20):
            func()
        n += 20
    return n / elapsed, n


def in_process() -> None:
    from reconciler.loader import parse_document, validate_device_document

    text = SPEC.read_text()
    name = str(SPEC)
    doc = parse_document(text, name)

    def parse() -> None:
        parse_document(text, name)

    def validate() -> None:
        spec, problems = validate_device_document(doc)
        assert spec is not None and not problems, problems

    def both() -> None:
        validate_device_document(parse_document(text, name))

    total, n = rate(both)
    parse_rate, _ = rate(parse, 1.0)
    validate_rate, _ = rate(validate, 1.0)
    print(f"spec: {SPEC.relative_to(REPO)} ({len(text)} bytes)")
    print(
        f"in-process parse + validate: {total:,.0f} documents/s "
        f"({1000 / total:.2f} ms each, {n} iterations)"
    )
    print(
        f"  parse only (YAML -> data with positions): {1000 / parse_rate:.2f} ms; "
        f"validate only (models + capability checks): {1000 / validate_rate:.2f} ms"
    )


def cold() -> None:
    cmd = [str(RECONCILE), "validate", str(SPEC)]
    subprocess.run(cmd, capture_output=True, check=False)  # warm the OS file cache
    times = []
    for _ in range(COLD_RUNS):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"validate failed:\n{proc.stdout}{proc.stderr}")
    median = statistics.median(times)
    verdict = "ok" if median < TARGET_COLD_S else "OVER TARGET"
    print(
        f"cold `reconcile validate` process ({COLD_RUNS} runs): median {median * 1000:.0f} ms, "
        f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms   "
        f"target < {TARGET_COLD_S * 1000:.0f} ms: {verdict}"
    )
    bare = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([str(PYTHON), "-c", "pass"], check=True)
        bare.append(time.perf_counter() - start)
    print(f"  of which the bare interpreter start: {statistics.median(bare) * 1000:.0f} ms")


def import_costs(top: int = 8) -> None:
    """Top-level imports by cumulative time in one cold `reconcile validate` (-X importtime)."""
    code = (
        f"import sys; from reconciler.cli import main; sys.exit(main(['validate', {str(SPEC)!r}]))"
    )
    proc = subprocess.run(
        [str(PYTHON), "-X", "importtime", "-c", code], capture_output=True, text=True, check=False
    )
    top_level: list[tuple[int, int, str]] = []
    every: list[tuple[int, str]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        head, cum_us, name = line.split("|", 2)
        self_us = int(head.rsplit(":", 1)[1])
        every.append((self_us, name.strip()))
        if not name.startswith("  "):  # nested ones count in their importer's cumulative
            top_level.append((int(cum_us), self_us, name.strip()))
    total = sum(cum for cum, _, _ in top_level)
    print(f"imports of one cold run: {total / 1000:.0f} ms; largest top-level imports:")
    print("  cumulative  (own)  module")
    for cum, own, name in sorted(top_level, reverse=True)[:top]:
        print(f"  {cum / 1000:7.1f} ms  ({own / 1000:4.1f})  {name}")
    print("  modules with the most own import time (class bodies, schema building):")
    for own, name in sorted(every, reverse=True)[:top]:
        print(f"  {own / 1000:7.1f} ms  {name}")


def profile(top: int = 8) -> None:
    """Where warm validation spends its time (cProfile, own code and libraries)."""
    from reconciler.loader import parse_document, validate_device_document

    text = SPEC.read_text()
    validate_device_document(parse_document(text, str(SPEC)))
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(200):
        validate_device_document(parse_document(text, str(SPEC)))
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    raw = stats.stats  # type: ignore[attr-defined]  # (file, line, func) -> totals
    rows = sorted(raw.items(), key=lambda kv: -kv[1][2])[:top]
    print(f"warm validation, 200 documents, top {top} functions by own time (cProfile):")
    print("    ncalls   own s   cum s  function")
    for (file, line, func), (_, ncalls, own, cum, _) in rows:
        print(f"  {ncalls:>8} {own:7.3f} {cum:7.3f}  {_short(file)}:{line}({func})")


def _short(where: str) -> str:
    for prefix in (str(REPO) + "/", "site-packages/"):
        if prefix in where:
            where = where.split(prefix, 1)[1]
    return where


def main() -> None:
    if not RECONCILE.exists():
        sys.exit("run `make test` or `make demo` first: .venv/bin/reconcile is missing")
    in_process()
    cold()
    import_costs()
    profile()


if __name__ == "__main__":
    main()
