"""leds area: user LEDs under /sys/class/leds, by spec index (sorted names or the `leds`
option); on is full brightness with the trigger cleared, off is brightness 0."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from reconciler.drivers.linux.context import Context, desired_after
from reconciler.drivers.linux.facts import sysfs
from reconciler.drivers.linux.host import Unavailable
from reconciler.engine.change import Change
from reconciler.engine.ports import SecretLookup
from reconciler.errors import DeviceError

LEDS = "/sys/class/leds"


class LedsDriver:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.host = ctx.host

    def leds(self) -> dict[str, dict[str, Any]]:
        """Spec index -> LED."""
        found = {led["name"]: led for led in sysfs.leds(self.host.tree(LEDS))}
        names = self.ctx.options.leds or tuple(sorted(found))
        out = {str(i): found[name] for i, name in enumerate(names) if name in found}
        if not out:
            raise Unavailable(f"no LEDs in {LEDS}")
        return out

    def observe(self) -> dict[str, str]:
        return {i: "on" if led["brightness"] > 0 else "off" for i, led in self.leds().items()}

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        leds = self.leds()
        want: dict[str, Any] = desired_after("leds", self.observe(), changes)
        for index in want:
            if index not in leds:
                raise DeviceError(f"this host has no LED {index} (it has 0..{len(leds) - 1})")
        for index, state in want.items():
            led = leds[index]
            on = state == "on"
            if (led["brightness"] > 0) == on:
                continue
            base = f"{LEDS}/{led['name']}"
            value = led["maxBrightness"] if on else 0
            try:
                if led["trigger"] != "none":
                    self.host.path(f"{base}/trigger").write_text("none")
                self.host.path(f"{base}/brightness").write_text(str(value))
            except OSError as exc:
                raise DeviceError(f"cannot set LED {index}: {exc.strerror}") from None

    def blink(self, times: int = 3, interval: float = 0.3) -> None:
        """Flash the first LED `times` times (to find the device), then put it back."""
        led = self.leds()["0"]
        base = f"{LEDS}/{led['name']}"
        try:
            trigger = self.host.path(f"{base}/trigger")
            brightness = self.host.path(f"{base}/brightness")
            if led["trigger"] != "none":
                trigger.write_text("none")
            for i in range(times * 2):
                brightness.write_text(str(led["maxBrightness"] if i % 2 == 0 else 0))
                time.sleep(interval)
            brightness.write_text(str(led["brightness"]))
            if led["trigger"] != "none":
                trigger.write_text(led["trigger"])
        except OSError as exc:
            raise DeviceError(f"cannot blink LED {led['name']}: {exc.strerror}") from None
