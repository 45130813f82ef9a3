"""gps area on a Debian host: the mode is gpsd's (auto: the daemon runs and reports the
receiver's fixes; manual: it is stopped), written to /etc/default/gpsd (START_DAEMON, for
the init script) and enforced on the gpsd service. gpsd has no fixed-position setting, so
a manual `location` is data the agent reports: it is kept in the state dir."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from reconciler.drivers.linux.context import Context, desired_after
from reconciler.drivers.linux.facts.retention import gpsd_defaults
from reconciler.drivers.linux.files import set_env_key
from reconciler.drivers.linux.host import Unavailable
from reconciler.drivers.linux.units import require, set_enabled
from reconciler.engine.change import Change
from reconciler.engine.ports import SecretLookup
from reconciler.errors import DeviceFailed
from reconciler.fsutil import atomic_write

DEFAULTS = "/etc/default/gpsd"
LOCATION = "linux/gps-location.json"
UNIT = "gpsd.service"


class GpsDriver:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.host = ctx.host

    def observe(self) -> dict[str, Any] | None:
        """None when gpsd is not installed (nothing to report, nothing written)."""
        text = self.host.read(DEFAULTS)
        if text is None:
            return None
        out: dict[str, Any] = {"mode": gpsd_defaults(text)["mode"]}
        path = self.ctx.state_dir / LOCATION
        if path.exists():
            out["location"] = json.loads(path.read_text())
        return out

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        text = self.host.read(DEFAULTS)
        if text is None:
            raise Unavailable(
                f"gpsd is not installed (no {DEFAULTS}; Debian: apt-get install gpsd)"
            )
        want = desired_after("gps", self.observe(), changes) or {}
        mode = want.get("mode")
        if mode not in ("auto", "manual"):
            raise DeviceFailed(f"gps mode {mode!r} is neither auto nor manual")
        if mode == "auto":
            require(self.host, UNIT)
        location = self.ctx.state_dir / LOCATION
        if want.get("location") is not None:
            atomic_write(location, json.dumps(want["location"]).encode())
        else:
            location.unlink(missing_ok=True)
        start = "true" if mode == "auto" else "false"
        self.host.write(DEFAULTS, set_env_key(text, "START_DAEMON", start))
        set_enabled(self.host, "multi-user.target", UNIT, mode == "auto", restart=True)
