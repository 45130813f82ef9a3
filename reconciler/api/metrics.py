"""Prometheus metrics through prometheus_client: its registry, exposition and process
collector. Request counts live in a client Counter; sync figures are read from status and
history at scrape time and handed to a collector for that one scrape, so every family is
printed whole (HELP, TYPE, then its samples) and no state is shared between scrapes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from reconciler import __version__
from reconciler.api.readstore import Totals
from reconciler.api.sync import STATES

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""The text format every Prometheus release reads (generate_latest writes it)."""
INTERFACE_COUNTERS = (
    ("receive_bytes", "bytes_recv", "Bytes received"),
    ("transmit_bytes", "bytes_sent", "Bytes sent"),
    ("receive_packets", "packets_recv", "Packets received"),
    ("transmit_packets", "packets_sent", "Packets sent"),
    ("receive_errors", "errin", "Receive errors"),
    ("transmit_errors", "errout", "Transmit errors"),
    ("receive_drop", "dropin", "Received packets dropped"),
    ("transmit_drop", "dropout", "Outgoing packets dropped"),
)
"""(metric stem, psutil field, help) of `reconciler_network_*_total{interface}`."""


class RequestCounter:
    """Requests by route template, method and status code (bounded: templates, not paths)."""

    def __init__(self) -> None:
        self.counter = Counter(
            "reconciler_api_requests",
            "Status endpoint requests answered.",
            ("route", "method", "code"),
            registry=None,
        )

    def count(self, route: str, method: str, status: int) -> None:
        self.counter.labels(route, method, str(status)).inc()


@dataclass(frozen=True)
class Scrape:
    """What one scrape reports, read before rendering (status and history are I/O)."""

    status: dict[str, Any]
    totals: Totals
    started_at: float
    boot_time: float
    interfaces: dict[str, Any] = field(default_factory=dict)


def read_host() -> tuple[float, dict[str, Any]]:
    """(boot time, per-interface I/O counters) of this host; blocking, call from a thread."""
    import psutil

    try:
        counters = psutil.net_io_counters(pernic=True)
    except OSError:
        counters = {}
    return psutil.boot_time(), {n: c for n, c in counters.items() if n != "lo"}


class _ScrapeCollector(Collector):
    def __init__(self, scrape: Scrape) -> None:
        self.scrape = scrape

    def collect(self) -> Iterator[Any]:
        yield from _sync_families(self.scrape)
        yield from _apply_families(self.scrape.totals)
        yield from _host_families(self.scrape)


def _sync_families(scrape: Scrape) -> Iterator[Any]:
    status = scrape.status
    info = InfoMetricFamily("reconciler", "Reconciler version and device name.")
    info.add_metric([], {"version": __version__, "device": status.get("device") or ""})
    yield info
    state = status.get("syncState") or "Unknown"
    sync = GaugeMetricFamily(
        "reconciler_sync_state", "1 for the current sync state, 0 for the others.", labels=["state"]
    )
    for name in STATES:
        sync.add_metric([name], 1 if name == state else 0)
    yield sync
    yield GaugeMetricFamily(
        "reconciler_drift_changes",
        "Changes the last plan found to apply.",
        value=len(status.get("drift") or []),
    )


def _apply_families(totals: Totals) -> Iterator[Any]:
    last = totals.last_finished
    finished = last is not None and last.finished_at is not None
    stamp = GaugeMetricFamily(
        "reconciler_last_apply_timestamp_seconds", "When the last apply finished (Unix)."
    )
    duration = GaugeMetricFamily(
        "reconciler_last_apply_duration_seconds", "How long the last apply took."
    )
    success = GaugeMetricFamily(
        "reconciler_last_apply_success", "1 if the last apply succeeded, else 0."
    )
    if finished and last is not None and last.finished_at is not None:
        stamp.add_metric([], round(last.finished_at, 3))
        duration.add_metric([], round(max(0.0, last.finished_at - last.started_at), 6))
        success.add_metric([], 1 if last.status == "applied" else 0)
    yield from (stamp, duration, success)
    applies = CounterMetricFamily(
        "reconciler_applies", "Applies and recorded passes by result.", labels=["status"]
    )
    for result, count in sorted(totals.applies.items()):
        applies.add_metric([result], count)
    yield applies
    yield CounterMetricFamily(
        "reconciler_apply_failures", "Applies that failed.", value=totals.applies.get("failed", 0)
    )
    yield CounterMetricFamily(
        "reconciler_changes_applied", "Changes applied successfully.", value=totals.changes_applied
    )


def _host_families(scrape: Scrape) -> Iterator[Any]:
    now = time.time()
    yield GaugeMetricFamily(
        "reconciler_uptime_seconds",
        "Seconds since this agent or status endpoint started.",
        value=round(max(0.0, now - scrape.started_at), 3),
    )
    yield GaugeMetricFamily(
        "reconciler_device_uptime_seconds",
        "Seconds since the device booted.",
        value=round(max(0.0, now - scrape.boot_time), 3),
    )
    for stem, attr, text in INTERFACE_COUNTERS:
        family = CounterMetricFamily(
            f"reconciler_network_{stem}", f"{text} by network interface.", labels=["interface"]
        )
        for name, counters in sorted(scrape.interfaces.items()):
            family.add_metric([name], getattr(counters, attr))
        yield family


def render(scrape: Scrape, requests: RequestCounter) -> bytes:
    """The /metrics page: this scrape's figures, request counts, process and platform."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ScrapeCollector(scrape))
    registry.register(requests.counter)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return generate_latest(registry)
