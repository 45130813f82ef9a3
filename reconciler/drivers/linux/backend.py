"""The linux backend: per-area drivers over one Host (root prefix + runner), the probe the
engine's safe apply runs from where the device's network is, and telemetry for `observe`,
Modbus tags and the status endpoint."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from reconciler.drivers.linux.areas import CONFIG_AREAS, make_driver
from reconciler.drivers.linux.context import Context, LinuxOptions
from reconciler.drivers.linux.host import Host
from reconciler.drivers.linux.profile import generic_profile
from reconciler.drivers.linux.runner import OfflineRunner, Runner, SubprocessRunner
from reconciler.drivers.linux.usage import UsageSampler
from reconciler.engine.ports import AreaDriver, Inventory, SafeApplyOptions
from reconciler.errors import DeviceError, OperationError
from reconciler.profiles import HardwareProfile, get_profile


class LinuxBackend:
    name = "linux"

    def __init__(self, ctx: Context, profile: HardwareProfile) -> None:
        self.ctx = ctx
        self.profile = profile
        self.usage = UsageSampler(ctx.host)
        self._drivers: dict[str, AreaDriver] = {}

    @classmethod
    def open(
        cls,
        state_dir: Path,
        model: str | None,
        root: Path = Path("/"),
        runner: Runner | None = None,
        options: LinuxOptions | None = None,
    ) -> LinuxBackend:
        """This host (or `root` with `runner`); `model` picks a built-in profile, None
        builds a generic one from the host. Options default to <state-dir>/linux/options.json."""
        host = Host(root, runner if runner is not None else SubprocessRunner())
        ctx = Context(
            host, options if options is not None else LinuxOptions.load(state_dir), state_dir
        )
        if model:
            try:
                profile = get_profile(model)
            except KeyError as exc:
                raise OperationError(str(exc.args[0])) from None
        else:
            profile = generic_profile(ctx)
        return cls(ctx, profile)

    def focus(self, desired: Mapping[str, Any], inventory: Inventory) -> None:
        """The files to observe: the spec's and those the reconciler created."""
        named = desired.get("files") or []
        paths = {str(i["name"]) for i in named if isinstance(i, dict) and "name" in i}
        paths |= {name for where, name in inventory if where == "files"}
        self.ctx.file_paths = paths

    @classmethod
    def open_root(
        cls, root: Path, state_dir: Path, model: str | None, options: LinuxOptions
    ) -> LinuxBackend:
        """The tree under `root` (like `systemd-firstboot --root`): files only; commands
        that act on the live host are refused, and no guard process is armed."""
        if not root.is_dir():
            raise OperationError(f"--root {root}: not a directory")
        options = dataclasses.replace(options, guard=False)
        return cls.open(state_dir, model, root=root, runner=OfflineRunner(root), options=options)

    @property
    def host(self) -> Host:
        return self.ctx.host

    def driver(self, area: str) -> AreaDriver:
        if area not in self._drivers:
            self._drivers[area] = make_driver(self.ctx, area)
        return self._drivers[area]

    # -- what the engine's safe apply needs (ports.Probing) --------------------------

    def safe_apply_options(self) -> SafeApplyOptions:
        o = self.ctx.options
        return SafeApplyOptions(o.must_reach, o.confirm_window, o.probe_interval, o.guard)

    def unreachable(self, targets: Sequence[str], timeout: float) -> list[str]:
        """Probes through the runner (inside the device's namespace in tests); a probe that
        cannot run at all means the backend lost the device: every target is lost."""
        argv = [sys.executable, "-m", "reconciler.drivers.reach", "--timeout", str(timeout)]
        result = self.host.run([*argv, *targets], check=False)
        if result.returncode == 0:
            return []
        return result.stdout.split() or list(targets)

    def reopen(self) -> tuple[str, dict[str, Any]] | None:
        runner = self.host.runner
        if not isinstance(runner, SubprocessRunner):
            return None  # a test's fake runner cannot be rebuilt in another process
        arguments = {
            "root": str(self.host.root),
            "prefix": list(runner.prefix),
            "state_dir": str(self.ctx.state_dir),
            "options": dataclasses.asdict(self.ctx.options),
        }
        return "reconciler.drivers.linux.areas:reopen_driver", arguments

    def observe(self) -> dict[str, Any]:
        """The configuration areas; an area the host lacks is left out and its reason is
        listed under `unavailable`."""
        out, unavailable = {}, {}
        for area in CONFIG_AREAS:
            try:
                out[area] = self.driver(area).observe()
            except DeviceError as exc:
                unavailable[area] = str(exc)
        if unavailable:
            out["unavailable"] = unavailable
        return out

    def telemetry(self) -> dict[str, Callable[[], Any]]:
        """Read-only telemetry readers by key (the bench times each). Imported here: a plan
        reads none of them, and `reconcile plan` starts faster without."""
        from reconciler.drivers.linux import devices, disks, hostinfo, hwmon, nics, processes
        from reconciler.drivers.linux.network import NetworkDriver
        from reconciler.drivers.linux.services import ServicesDriver

        net = NetworkDriver(self.ctx)
        return {
            "host": lambda: hostinfo.host_info(self.host, self.profile.model),
            "usage": self.usage.usage,
            "hwmon": lambda: hwmon.hwmon(self.host),
            "disks": lambda: disks.disks(self.host),
            "devices": lambda: devices.devices(self.host),
            "power": lambda: devices.power(self.host),
            "networkInterfaces": lambda: nics.interfaces(self.host, net.links(), net.routes()),
            "wifiNetworks": lambda: nics.wifi_networks(self.host),
            "processes": lambda: processes.processes(self.host),
            "systemServices": ServicesDriver(self.ctx).listing,
        }

    def observe_all(self) -> dict[str, Any]:
        """Configuration plus telemetry (system.cpuPercent, hwmon, host, disks, ...)."""
        out = self.observe()
        unavailable = out.pop("unavailable", {})
        for key, read in self.telemetry().items():
            try:
                value = read()
            except DeviceError as exc:
                unavailable[key] = str(exc)
                continue
            if key == "usage":
                out.setdefault("system", {}).update(value)
            else:
                out[key] = value
        if unavailable:
            out["unavailable"] = unavailable
        return out
