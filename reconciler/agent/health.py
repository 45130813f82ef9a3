"""Health checks run after an apply: a failing check within the window means roll back."""

from __future__ import annotations

import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reconciler.spec.agent import HealthCheck


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


def run_check(check: HealthCheck) -> CheckResult:
    timeout = check.timeout_seconds
    try:
        if check.command is not None:
            proc = subprocess.run(check.command, capture_output=True, timeout=timeout, check=False)
            ok = proc.returncode == 0
            return CheckResult(check.name, ok, f"exit {proc.returncode}")
        if check.tcp is not None:
            host, _, port = check.tcp.rpartition(":")
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                return CheckResult(check.name, True, f"connected to {check.tcp}")
        assert check.http is not None
        with urllib.request.urlopen(check.http, timeout=timeout) as response:
            return CheckResult(check.name, response.status < 400, f"HTTP {response.status}")
    except (OSError, subprocess.TimeoutExpired, urllib.error.URLError, ValueError) as exc:
        return CheckResult(check.name, False, str(exc) or type(exc).__name__)


def run_checks(
    checks: Sequence[HealthCheck], source_reachable: Callable[[], bool]
) -> list[CheckResult]:
    """Every check once, plus the built-in one: the source is still reachable."""
    results = [CheckResult("source-reachable", source_reachable(), "the Git source answers")]
    results.extend(run_check(c) for c in checks)
    return results
