"""Fixtures: the service on a simulated device, and remote peers (modbus_peers.py) on loopback.
Every port is a free one picked at run time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from modbus_peers import Plc, SilentDevice, free_port

from reconciler.drivers.sim.backend import SimBackend
from reconciler.services.modbus.service import ModbusService
from reconciler.spec.modbus import ModbusSpec


@pytest.fixture
def uno(tmp_path: Path) -> SimBackend:
    """A simulated UNO-2484G (8 GPIO, watchdog 10..255 s) with pin 0 an output."""
    backend = SimBackend.open(tmp_path / "state", "UNO-2484G")
    backend.set_out_of_band("gpio.pins.0", {"direction": "output", "level": "low"})
    return backend


@pytest.fixture
def aig(tmp_path: Path) -> SimBackend:
    """A simulated AIG-302 (DI 1..2, DO 1..2)."""
    return SimBackend.open(tmp_path / "aig", "AIG-302")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., ModbusService]]:
    """Start a ModbusService for a backend and a modbus spec (a dict as in YAML)."""
    started: list[ModbusService] = []

    def start(backend: SimBackend, spec: dict[str, Any], **options: Any) -> ModbusService:
        options.setdefault("refresh_s", 0.05)
        service = ModbusService(backend, backend.root.parent, **options)
        started.append(service)
        service.start(ModbusSpec.model_validate(spec))
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def plc() -> Iterator[Callable[..., Plc]]:
    made: list[Plc] = []

    def make(port: int | None = None, **options: Any) -> Plc:
        device = Plc(port or free_port(), **options)
        made.append(device)
        return device.start()

    yield make
    for device in made:
        device.stop()


@pytest.fixture
def silent() -> Iterator[SilentDevice]:
    device = SilentDevice()
    yield device
    device.close()
