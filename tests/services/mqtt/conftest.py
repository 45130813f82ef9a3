"""Fixtures: a real mosquitto per test (skipped with a reason when the binary is missing),
recording subscribers, and uplinks on a simulated device."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mqtt_broker import MOSQUITTO, NO_MOSQUITTO, Broker, Certs, Collector, make_certs
from uplink_kit import PREFIX, Uplinks


@pytest.fixture
def new_broker(tmp_path: Path) -> Iterator[Callable[..., Broker]]:
    """Start brokers (keyword options as Broker's); all are stopped after the test."""
    if MOSQUITTO is None:
        pytest.skip(NO_MOSQUITTO)
    started: list[Broker] = []

    def start(**options: Any) -> Broker:
        broker = Broker(tmp_path / f"broker-{len(started)}", **options)
        broker.start()
        started.append(broker)
        return broker

    yield start
    for broker in started:
        broker.stop()


@pytest.fixture
def broker(new_broker: Callable[..., Broker]) -> Broker:
    return new_broker()


@pytest.fixture
def certs(tmp_path: Path) -> Certs:
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl to make test certificates (Debian: apt-get install openssl)")
    return make_certs(tmp_path / "certs")


@pytest.fixture
def collect() -> Iterator[Callable[..., Collector]]:
    """Subscribers (default: what devices publish under the test prefix), closed after."""
    opened: list[Collector] = []

    def open_collector(broker: Broker, topics: list[str] | None = None, **kw: Any) -> Collector:
        outgoing = [f"{PREFIX}/+/{leaf}" for leaf in ("status", "events", "state", "telemetry")]
        collector = Collector(broker, topics or outgoing, **kw)
        opened.append(collector)
        return collector

    yield open_collector
    for collector in opened:
        collector.close()


@pytest.fixture
def uplinks(tmp_path: Path, secrets_dir: Path) -> Iterator[Uplinks]:
    made = Uplinks(tmp_path, secrets_dir)
    yield made
    made.stop_all()


@pytest.fixture(autouse=True)
def _cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands started here keep their caches (fleet status's roster) in the test's tmp."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
