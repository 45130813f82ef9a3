"""services area: systemd services, running (enabled and started) or stopped (disabled and
stopped). Names asked for that the host does not have are remembered in the state dir and
reported stopped, so `telnet: stopped` converges on a host without telnet."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from reconciler.drivers.linux.context import Context, desired_after
from reconciler.drivers.linux.facts import systemd
from reconciler.drivers.linux.host import Unavailable
from reconciler.engine.change import Change
from reconciler.engine.ports import SecretLookup
from reconciler.errors import DeviceError
from reconciler.fsutil import atomic_write

MANAGED = "linux/services.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:_.@-]*$")


class ServicesDriver:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.host = ctx.host

    def units(self) -> dict[str, dict[str, str]]:
        if not self.host.systemd_running():
            raise Unavailable("systemd is not running on this host (no /run/systemd/system)")
        data = self.host.run_json(
            ["systemctl", "list-units", "--type=service", "--all", "--output=json", "--no-pager"]
        )
        return systemd.units(data or [])

    def unit_files(self) -> dict[str, str]:
        data = self.host.run_json(
            ["systemctl", "list-unit-files", "--type=service", "--output=json", "--no-pager"]
        )
        return systemd.unit_files(data or [])

    def managed(self) -> list[str]:
        try:
            return list(json.loads((self.ctx.state_dir / MANAGED).read_text()))
        except (FileNotFoundError, ValueError):
            return []

    def observe(self) -> dict[str, str]:
        units = self.units()
        out = {n: "running" if u["active"] == "active" else "stopped" for n, u in units.items()}
        for name in self.managed():
            out.setdefault(name, "stopped")
        return out

    def listing(self) -> list[dict[str, Any]]:
        """The portal's service list: name, displayName, description, status."""
        units, files = self.units(), self.unit_files()
        return [
            {
                "name": name,
                "displayName": units.get(name, {}).get("description", name),
                "description": units.get(name, {}).get("description", ""),
                "status": systemd.service_status(units.get(name), files.get(name)),
            }
            for name in sorted(set(units) | set(files))
        ]

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        units = self.units()
        files = self.unit_files()
        want: dict[str, Any] = desired_after("services", self.observe(), changes)
        names = sorted({str(c.path[1]) for c in changes if len(c.path) > 1} or set(want))
        for name in names:
            if not _NAME.match(name):
                raise DeviceError(f"invalid service name {name!r}")
            if want.get(name) == "running" and name not in units and name not in files:
                raise DeviceError(f"this host has no service {name}")
        path = self.ctx.state_dir / MANAGED
        atomic_write(path, json.dumps(sorted(set(self.managed()) | set(names))).encode())
        for name in names:
            self._put(name, want.get(name), name in units or name in files)

    def _put(self, name: str, state: Any, installed: bool) -> None:
        unit = f"{name}.service"
        # enable/disable fail on static units, which still start and stop.
        if state == "running":
            self.host.run(["systemctl", "enable", unit], check=False)
            self.host.run(["systemctl", "start", unit])
        elif installed:
            self.host.run(["systemctl", "disable", unit], check=False)
            self.host.run(["systemctl", "stop", unit])

    # -- checkpoint (the engine's safe apply: stopping ssh can lock operators out) -------

    def checkpoint(self, changes: Sequence[Change]) -> dict[str, Any]:
        now = self.observe()
        names = {str(c.path[1]) for c in changes if len(c.path) > 1} or set(now)
        return {"services": {n: now.get(n) for n in sorted(names)}}

    def restore(self, snap: dict[str, Any]) -> None:
        units, files = self.units(), self.unit_files()
        for name, state in snap["services"].items():
            self._put(name, state, name in units or name in files)
