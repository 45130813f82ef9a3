"""The GPIO character-device path (gpiod) with a stand-in chip: this machine has no
/dev/gpiochip*, so the chip object is faked; gpiod's own enums and settings are real."""

from __future__ import annotations

from typing import Any

import pytest
from gpiod.line import Direction, Value
from linux_converge import converge
from linux_fakehost import FakeMachine

from reconciler.drivers.linux import gpio
from reconciler.drivers.linux.backend import LinuxBackend


class Line:
    def __init__(self) -> None:
        self.direction = Direction.INPUT
        self.value = Value.INACTIVE
        self.used = False


class Request:
    def __init__(self, lines: dict[int, Line], config: dict[int, Any]) -> None:
        self.lines = {o: lines[o] for o in config}
        for offset, settings in config.items():
            line = lines[offset]
            line.direction, line.used = settings.direction, True
            if settings.direction == Direction.OUTPUT:
                line.value = settings.output_value

    def get_value(self, offset: int) -> Value:
        return self.lines[offset].value

    def release(self) -> None:
        for line in self.lines.values():
            line.used = False

    def __enter__(self) -> Request:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Chip:
    lines = {i: Line() for i in range(4)}

    def get_info(self) -> Any:
        return type("Info", (), {"num_lines": len(self.lines)})()

    def get_line_info(self, offset: int) -> Line:
        return self.lines[offset]

    def request_lines(self, config: dict[int, Any], consumer: str) -> Request:
        return Request(self.lines, config)

    def __enter__(self) -> Chip:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def test_outputs_are_held_by_the_backend(
    backend: LinuxBackend, machine: FakeMachine, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine.write("/dev/gpiochip0", "")
    Chip.lines = {i: Line() for i in range(4)}
    monkeypatch.setattr(gpio, "open_chip", lambda path: Chip())
    assert backend.driver("gpio").observe()["pins"]["1"] == {"direction": "input", "level": "low"}
    desired = {"pins": {"0": {"direction": "output", "level": "high"}}}
    assert converge(backend, "gpio", desired) == []
    assert Chip.lines[0].used and Chip.lines[0].value == Value.ACTIVE
    assert converge(backend, "gpio", {"pins": {"0": {"direction": "input"}}}) == []
    assert not Chip.lines[0].used
