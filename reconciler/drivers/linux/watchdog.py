"""watchdog area: read from /sys/class/watchdog; set through systemd's RuntimeWatchdogSec.

systemd (PID 1) opens /dev/watchdog, sets the timeout and feeds it, so an armed watchdog
keeps being fed after the reconciler exits; an ioctl from this process would arm a device
that nothing feeds once it stops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.drivers.linux.context import Context, desired_after
from reconciler.drivers.linux.facts import sysfs
from reconciler.drivers.linux.files import MANAGED_HEADER
from reconciler.drivers.linux.host import Unavailable
from reconciler.engine.change import Change
from reconciler.engine.ports import SecretLookup
from reconciler.errors import DeviceError

SYSTEM_DROPIN = "/etc/systemd/system.conf.d/50-reconciler-watchdog.conf"


class WatchdogDriver:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.host = ctx.host

    def device(self) -> dict[str, Any]:
        devices = sysfs.watchdogs(self.host.tree("/sys/class/watchdog"))
        if not devices:
            raise Unavailable("no watchdog device in /sys/class/watchdog")
        return devices[0]

    def observe(self) -> dict[str, Any]:
        dev = self.device()
        out: dict[str, Any] = {"enabled": dev["active"], "type": dev["identity"]}
        if dev["timeout"] is not None:
            out["timeoutSeconds"] = dev["timeout"]
        if dev["minTimeout"] is not None:
            out["timeoutMinInSeconds"] = dev["minTimeout"]
        if dev["maxTimeout"] is not None:
            out["timeoutMaxInSeconds"] = dev["maxTimeout"]
        return out

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        dev = self.device()
        want = desired_after("watchdog", self.observe(), changes)
        timeout = want.get("timeoutSeconds", dev["timeout"])
        lo, hi = dev["minTimeout"] or 1, dev["maxTimeout"] or 65535
        if timeout is None or not lo <= int(timeout) <= hi:
            raise DeviceError(
                f"watchdog timeout {timeout} s is outside {lo}..{hi} ({dev['identity']})"
            )
        enabled = want.get("enabled", dev["active"])
        if not enabled and dev["active"] and dev["nowayout"]:
            raise DeviceError(f"{dev['identity']} runs with nowayout: it cannot be disabled")
        if not self.host.systemd_running():
            raise DeviceError("setting the watchdog needs systemd (RuntimeWatchdogSec) running")
        value = f"{int(timeout)}s" if enabled else "off"
        self.host.write(
            SYSTEM_DROPIN,
            f"{MANAGED_HEADER}[Manager]\nRuntimeWatchdogSec={value}\n"
            f"WatchdogDevice=/dev/{dev['device']}\n",
        )
        self.host.run(["systemctl", "daemon-reexec"])
