"""gpio area: pins by index on one GPIO chip, through the gpio character device (the
`gpiod` package) when the host has one, else the legacy /sys/class/gpio interface.

A character-device output keeps its level only while a line request holds it, so the
backend keeps its requests for the life of the process (the agent). Levels of outputs that
no request of this process holds are not reported there (the kernel does not say them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from reconciler.drivers.linux.context import Context, desired_after
from reconciler.drivers.linux.facts import sysfs
from reconciler.drivers.linux.host import Unavailable
from reconciler.engine.change import Change
from reconciler.engine.ports import SecretLookup
from reconciler.errors import DeviceError

SYSFS = "/sys/class/gpio"
CONSUMER = "reconciler"


def open_chip(path: str) -> Any:
    """A gpiod.Chip (import kept lazy: the package is optional on hosts without GPIO)."""
    import gpiod

    return gpiod.Chip(path)


class CharDevGpio:
    """Pins as line offsets of one /dev/gpiochipN."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.requests: dict[int, Any] = {}

    def count(self) -> int:
        with open_chip(self.path) as chip:
            return int(chip.get_info().num_lines)

    def read(self) -> dict[str, dict[str, Any]]:
        from gpiod.line import Direction, Value

        out: dict[str, dict[str, Any]] = {}
        with open_chip(self.path) as chip:
            for offset in range(chip.get_info().num_lines):
                info = chip.get_line_info(offset)
                output = info.direction == Direction.OUTPUT
                pin: dict[str, Any] = {"direction": "output" if output else "input"}
                if offset in self.requests:
                    value = self.requests[offset].get_value(offset)
                    pin["level"] = "high" if value == Value.ACTIVE else "low"
                elif not output and not info.used:
                    pin["level"] = self._sample(chip, offset)
                out[str(offset)] = pin
        return out

    @staticmethod
    def _sample(chip: Any, offset: int) -> str:
        """An input's level: request it as input (it already is one) and release it."""
        import gpiod
        from gpiod.line import Direction, Value

        settings = gpiod.LineSettings(direction=Direction.INPUT)
        with chip.request_lines(config={offset: settings}, consumer=CONSUMER) as req:
            return "high" if req.get_value(offset) == Value.ACTIVE else "low"

    def write(self, offset: int, direction: str, level: str | None) -> None:
        import gpiod
        from gpiod.line import Direction, Value

        old = self.requests.pop(offset, None)
        if old is not None:
            old.release()
        if direction == "input":
            settings = gpiod.LineSettings(direction=Direction.INPUT)
            with open_chip(self.path) as chip:
                chip.request_lines(config={offset: settings}, consumer=CONSUMER).release()
            return
        value = Value.ACTIVE if level == "high" else Value.INACTIVE
        settings = gpiod.LineSettings(direction=Direction.OUTPUT, output_value=value)
        with open_chip(self.path) as chip:
            self.requests[offset] = chip.request_lines(config={offset: settings}, consumer=CONSUMER)


class GpioDriver:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.host = ctx.host
        self.chardev: CharDevGpio | None = None

    def chip_device(self) -> str | None:
        """The character device to use, when the host has one and gpiod is installed."""
        chips = [n for n in self.host.listdir("/dev") if re.fullmatch(r"gpiochip\d+", n)]
        wanted = self.ctx.options.gpio_chip
        name = wanted if wanted in chips else (chips[0] if chips and not wanted else None)
        if name is None:
            return None
        try:
            import gpiod  # noqa: F401
        except ImportError:
            return None
        return str(self.host.path(f"/dev/{name}"))

    def backend(self) -> CharDevGpio | None:
        if self.chardev is None:
            path = self.chip_device()
            self.chardev = CharDevGpio(path) if path else None
        return self.chardev

    def sysfs_chip(self) -> dict[str, Any]:
        tree = sysfs.gpio_sysfs(self.host.tree(SYSFS))
        chips = tree["chips"]
        wanted = self.ctx.options.gpio_chip
        chip = next((c for c in chips if wanted in (None, c["name"], c["label"])), None)
        if chip is None:
            raise Unavailable("no GPIO chip (no /dev/gpiochip* with gpiod, no /sys/class/gpio)")
        return {**chip, "lines": tree["lines"]}

    def observe(self) -> dict[str, Any]:
        chardev = self.backend()
        if chardev is not None:
            return {"pins": chardev.read()}
        chip = self.sysfs_chip()
        pins = {}
        for i in range(chip["ngpio"]):
            line = chip["lines"].get(str(chip["base"] + i))
            pins[str(i)] = dict(line) if line else {"direction": "input"}
        return {"pins": pins}

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        current = self.observe()
        want = desired_after("gpio", current, changes)
        pins = want.get("pins") or {}
        for index, pin in pins.items():
            if index not in current["pins"]:
                raise DeviceError(f"this host has no GPIO pin {index}")
            if pin.get("direction") == "input" and touched_level(changes, index):
                raise DeviceError(f"cannot set the level of input pin {index}")
        for index, pin in pins.items():
            if pin == current["pins"].get(index):
                continue
            direction = pin.get("direction", "input")
            level = pin.get("level") if direction == "output" else None
            chardev = self.backend()
            if chardev is not None:
                chardev.write(int(index), direction, level)
            else:
                self.write_sysfs(int(index), direction, level)

    def write_sysfs(self, index: int, direction: str, level: str | None) -> None:
        chip = self.sysfs_chip()
        number = chip["base"] + index
        line = f"{SYSFS}/gpio{number}"
        # "high"/"low" set the direction and the level in one glitch-free write.
        value = (level or "low") if direction == "output" else "in"
        try:
            if not self.host.exists(line):
                self.host.path(f"{SYSFS}/export").write_text(str(number))
            self.host.path(f"{line}/direction").write_text(value)
        except OSError as exc:
            raise DeviceError(
                f"cannot set GPIO pin {index} (line {number}): {exc.strerror}"
            ) from None


def touched_level(changes: Sequence[Change], index: str) -> bool:
    for c in changes:
        path = [str(p) for p in c.path]
        if path[:3] == ["gpio", "pins", index] and (
            path[-1] == "level" or (isinstance(c.after, dict) and "level" in c.after)
        ):
            return True
    return False
