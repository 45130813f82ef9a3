"""Prometheus metrics: request counts kept here, sync figures read from status and history.

Rendered in the text exposition format (version 0.0.4) by hand: a handful of gauges and
counters do not need a client library.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from reconciler import __version__
from reconciler.api.readstore import Totals
from reconciler.api.sync import STATES

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class RequestCounter:
    """Requests by route template, method and status code (bounded: templates, not paths)."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, int]] = Counter()
        self._lock = threading.Lock()

    def count(self, route: str, method: str, status: int) -> None:
        with self._lock:
            self._counts[(route, method, status)] += 1

    def snapshot(self) -> dict[tuple[str, str, int], int]:
        with self._lock:
            return dict(self._counts)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: Any) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items()) + "}"


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")

    def sample(self, name: str, value: float, **labels: Any) -> None:
        text = repr(float(value)) if isinstance(value, float) else str(value)
        self.lines.append(f"{name}{_labels(**labels)} {text}")


def render(
    status: dict[str, Any], totals: Totals, requests: dict[tuple[str, str, int], int]
) -> str:
    """The /metrics page."""
    w = _Writer()
    w.metric("reconciler_info", "gauge", "Reconciler version and device name.")
    w.sample("reconciler_info", 1, version=__version__, device=status.get("device") or "")

    state = status.get("syncState") or "Unknown"
    w.metric("reconciler_sync_state", "gauge", "1 for the current sync state, 0 for the others.")
    for name in STATES:
        w.sample("reconciler_sync_state", 1 if name == state else 0, state=name)

    w.metric("reconciler_drift_changes", "gauge", "Changes the last plan found to apply.")
    w.sample("reconciler_drift_changes", len(status.get("drift") or []))

    last = totals.last_finished
    w.metric(
        "reconciler_last_apply_timestamp_seconds", "gauge", "When the last apply finished (Unix)."
    )
    w.metric("reconciler_last_apply_duration_seconds", "gauge", "How long the last apply took.")
    w.metric("reconciler_last_apply_success", "gauge", "1 if the last apply succeeded, else 0.")
    if last is not None and last.finished_at is not None:
        w.sample("reconciler_last_apply_timestamp_seconds", round(last.finished_at, 3))
        duration = max(0.0, last.finished_at - last.started_at)
        w.sample("reconciler_last_apply_duration_seconds", round(duration, 6))
        w.sample("reconciler_last_apply_success", 1 if last.status == "applied" else 0)

    w.metric("reconciler_applies_total", "counter", "Applies and recorded passes by result.")
    for result, count in sorted(totals.applies.items()):
        w.sample("reconciler_applies_total", count, status=result)
    w.metric("reconciler_apply_failures_total", "counter", "Applies that failed.")
    w.sample("reconciler_apply_failures_total", totals.applies.get("failed", 0))
    w.metric("reconciler_changes_applied_total", "counter", "Changes applied successfully.")
    w.sample("reconciler_changes_applied_total", totals.changes_applied)

    w.metric("reconciler_api_requests_total", "counter", "Status endpoint requests answered.")
    for (route, method, code), count in sorted(requests.items()):
        w.sample("reconciler_api_requests_total", count, route=route, method=method, code=code)
    return "\n".join(w.lines) + "\n"
