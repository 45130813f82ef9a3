"""Fuzzing, longer than the suite's bounded run: mutated Device documents, fleet repos and
raw HTTP requests to a live status endpoint (loopback). Prints the inputs tried, the
failures found (a traceback, a problem without a place, a 5xx, a hang past the guard) and
the rate, per kind; exits 1 if any failed.

Run: .venv/bin/python bench/fuzz.py [--documents 2000] [--fleets 200] [--requests 1000]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "api")]

from apikit import UNO, apply_spec, serve, write_secrets  # noqa: E402
from fuzzkit import (  # noqa: E402
    check_document,
    check_fleet,
    check_request,
    documents,
    http_requests,
)
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from reconciler.api.limits import ServerLimits  # noqa: E402

SLOW_SECONDS = 10.0
"""One input taking longer than this counts as a hang."""


def run(name: str, strategy: Any, check: Callable[..., Any], count: int) -> int:
    """Try `count` inputs; print the tally; return the failures."""
    tried = failures = 0
    slowest = 0.0
    shown: list[str] = []

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def one(value: Any) -> None:
        nonlocal tried, failures, slowest
        tried += 1
        start = time.perf_counter()
        try:
            check(*value) if isinstance(value, tuple) else check(value)
        except Exception:
            failures += 1
            if len(shown) < 3:
                shown.append(f"{value!r:.300}\n{traceback.format_exc(limit=3)}")
        elapsed = time.perf_counter() - start
        slowest = max(slowest, elapsed)
        if elapsed > SLOW_SECONDS:
            failures += 1
            shown.append(f"hang: {elapsed:.1f} s on {value!r:.200}")

    start = time.perf_counter()
    one()
    elapsed = time.perf_counter() - start
    print(
        f"{name:10} {tried:6} inputs tried  {failures:4} failures  "
        f"{tried / elapsed:7.1f} inputs/s  slowest {slowest * 1000:7.1f} ms"
    )
    for text in shown:
        print("  " + text.replace("\n", "\n  "))
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--fleets", type=int, default=200)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    logging.getLogger("uvicorn.error").setLevel(logging.ERROR)  # one line per junk request
    failures = run("documents", documents(), check_document, args.documents)
    fleets = st.tuples(
        st.lists(documents(), min_size=1, max_size=4), st.lists(documents(), max_size=3)
    )
    failures += run("fleets", fleets, check_fleet, args.fleets)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        secrets = write_secrets(root / "secrets")
        apply_spec(UNO, root / "state", secrets)
        served = serve(UNO, root / "state", secrets, limits=ServerLimits(rate=0))
        try:
            port = served.handle.port
            failures += run(
                "requests", http_requests(), lambda raw: check_request(port, raw), args.requests
            )
        finally:
            served.handle.stop()
    print(f"total failures: {failures}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
