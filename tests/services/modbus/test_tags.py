"""tags: resolving dotted paths in an observed document, readings, and writes as Changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.drivers.sim.backend import SimBackend
from reconciler.services.modbus.codec import CodecError
from reconciler.services.modbus.tags import (
    Reading,
    TagError,
    device_change,
    reconciler_section,
    resolve,
)
from reconciler.syncstatus import write_status


@pytest.fixture
def document(tmp_path: Path) -> dict[str, object]:
    backend = SimBackend.open(tmp_path, "UNO-2484G")
    doc = backend.observe_all()
    doc["reconciler"] = reconciler_section(None)
    return doc


def test_telemetry_and_configuration_resolve(document: dict[str, object]) -> None:
    assert isinstance(resolve(document, "system.cpuPercent"), float)
    assert isinstance(resolve(document, "system.memoryPercent"), float)
    assert isinstance(resolve(document, "system.uptimeSeconds"), int)
    assert resolve(document, "system.hostname") == "uno-2484g"
    assert resolve(document, "gpio.pins.3.level") == "low"
    assert resolve(document, "gpio.3.level") == "low"  # the short form
    assert resolve(document, "watchdog.timeoutSeconds") == 60
    assert resolve(document, "system.loadAverage") == document["system"]["loadAverage"]  # type: ignore[index]


def test_hwmon_readings_by_kind_and_sensor_name(document: dict[str, object]) -> None:
    cpu = resolve(document, "hwmon.temperatures.CPU")
    assert cpu == resolve(document, "hwmon.temperature.cpu")
    assert 30 < cpu < 60
    assert 1000 < resolve(document, "hwmon.fanspeeds.FAN0") < 1500
    assert 2.9 < resolve(document, "hwmon.voltages.cmos-battery") < 3.2  # 'CMOS Battery'


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("system.nope", "system.nope: no 'nope' in system"),
        ("gpio.pins.9.level", "no '9' in gpio.pins"),
        ("hwmon.temperatures.GPU", "no item named 'GPU' in hwmon.temperature"),
        ("system.hostname.x", "'x' is below a plain value"),
        ("gpio.pins.0", "is a whole section, not a value"),
    ],
)
def test_missing_tags_say_what_is_missing(
    document: dict[str, object], tag: str, message: str
) -> None:
    with pytest.raises(TagError, match=message.replace(".", r"\.")):
        resolve(document, tag)


def test_reconciler_tags_from_the_agent_status(tmp_path: Path) -> None:
    assert reconciler_section(None) == {
        "syncState": "Unknown",
        "syncStateCode": -1,
        "inSync": False,
        "lastAppliedAt": None,
        "lastAppliedCommit": "",
        "lastFetchedAt": None,
        "driftCount": 0,
    }
    write_status(
        tmp_path,
        {
            "syncState": "OutOfSync",
            "lastAppliedAt": "2024-05-01T12:00:00Z",
            "lastAppliedCommit": "abc123",
            "drift": [{"path": "a"}, {"path": "b"}],
        },
    )
    from reconciler.syncstatus import read_status

    section = reconciler_section(read_status(tmp_path))
    assert section["syncStateCode"] == 1
    assert section["lastAppliedAt"] == 1714564800
    assert section["driftCount"] == 2
    assert not section["inSync"]


def test_writes_become_changes_in_the_devices_words(document: dict[str, object]) -> None:
    change = device_change(document, "gpio.0.level", True)
    assert change.path == ("gpio", "pins", "0", "level")
    assert (change.op, change.before, change.after) == ("replace", "low", "high")
    assert device_change(document, "watchdog.enabled", 1).after is True
    assert device_change(document, "watchdog.timeoutSeconds", 30.0).after == 30
    with pytest.raises(CodecError, match="whole numbers"):
        device_change(document, "watchdog.timeoutSeconds", 30.5)
    with pytest.raises(TagError, match="read-only"):
        device_change(document, "system.cpuPercent", 1)
    with pytest.raises(TagError, match="read-only"):
        device_change(document, "modbus.plc1.speed", 1)


def test_io_writes_use_on_and_off(tmp_path: Path) -> None:
    doc = SimBackend.open(tmp_path, "AIG-302").observe()
    change = device_change(doc, "io.do.1.state", 1)
    assert (change.path, change.before, change.after) == (("io", "do", "1", "state"), "off", "on")
    with pytest.raises(TagError, match="read-only"):
        device_change(doc, "io.di.1.state", 1)


def test_a_failed_reading_keeps_its_last_good_time() -> None:
    good = Reading(42, "good", 1714564800.25)
    bad = good.failed("device plc1 offline")
    assert (bad.value, bad.quality, bad.timestamp) == (42, "bad", 1714564800.25)
    assert bad.as_dict() == {
        "value": 42,
        "quality": "bad",
        "timestamp": "2024-05-01T12:00:00.250Z",
        "error": "device plc1 offline",
    }
    assert Reading().as_dict()["quality"] == "pending"
