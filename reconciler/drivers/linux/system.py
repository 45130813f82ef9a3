"""system area: host name, description (PRETTY_HOSTNAME), time zone, NTP (timesyncd), and
the gateway doc's system groups (system_groups: banner, system log, serial console)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from reconciler.drivers.linux import system_groups
from reconciler.drivers.linux.context import Context, desired_after
from reconciler.drivers.linux.facts import config
from reconciler.drivers.linux.files import MANAGED_HEADER, set_env_key, symlink, with_dropins
from reconciler.drivers.linux.host import Host
from reconciler.engine.change import Change
from reconciler.engine.ports import SecretLookup
from reconciler.errors import DeviceError

ZONEINFO = "/usr/share/zoneinfo"
TIMESYNCD_DROPIN = "/etc/systemd/timesyncd.conf.d/50-reconciler.conf"
HOST_NAME_MAX = 64
"""The kernel's limit for sethostname(2); systemd-hostnamed holds names to it as well."""
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_ZONE = re.compile(r"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$")


class SystemDriver:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.host = ctx.host

    def observe(self) -> dict[str, Any]:
        h = self.host
        info = config.env_file(h.read("/etc/machine-info") or "")
        ntp = config.merged_ini(
            with_dropins(h, "/etc/systemd/timesyncd.conf", "/etc/systemd/timesyncd.conf.d")
        )
        servers = [s for v in ntp.get("Time", {}).get("NTP", []) for s in v.split()]
        return {
            "hostname": self.hostname(),
            "description": info.get("PRETTY_HOSTNAME", ""),
            "timezone": self.timezone(),
            "ntp": servers,
            **system_groups.observe(self.ctx),
        }

    def hostname(self) -> str:
        """The configured name (/etc/hostname), and the running one when it differs: then
        both show (`gw-01 (running as old-name)`), so drift in either is a change to plan.
        Under --root the image's file is all there is."""
        h = self.host
        static = _name(h.read("/etc/hostname"))
        running = None if h.offline else _name(h.read("/proc/sys/kernel/hostname"))
        if not static or not running or running == static:
            return static or running or ""
        return f"{static} (running as {running})"

    def timezone(self) -> str:
        link = self.host.readlink("/etc/localtime")
        if link and "zoneinfo/" in link:
            return link.split("zoneinfo/", 1)[1]
        return (self.host.read("/etc/timezone") or "UTC").strip()

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        want = desired_after("system", self.observe(), changes)
        keys = {str(c.path[1]) for c in changes if len(c.path) > 1} or set(want)
        system_groups.refuse_unavailable(keys)
        self.validate(want, keys)
        system_groups.apply(self.ctx, want, keys)
        h = self.host
        if "hostname" in keys:
            name = want["hostname"]
            h.write("/etc/hostname", name + "\n")
            h.write("/etc/hosts", _hosts(h.read("/etc/hosts") or "", name))
            if not h.offline:  # --root: the image's file is the host name it boots with
                h.run(_set_hostname(h, name))
        if "description" in keys:
            text = h.read("/etc/machine-info") or ""
            h.write("/etc/machine-info", set_env_key(text, "PRETTY_HOSTNAME", want["description"]))
        if "timezone" in keys:
            zone = want["timezone"]
            symlink(h, "/etc/localtime", f"{ZONEINFO}/{zone}")
            h.write("/etc/timezone", zone + "\n")
        if "ntp" in keys:
            h.write(TIMESYNCD_DROPIN, f"{MANAGED_HEADER}[Time]\nNTP={' '.join(want['ntp'])}\n")
            if h.systemd_running():
                h.run(["systemctl", "try-restart", "systemd-timesyncd"])

    def validate(self, want: dict[str, Any], keys: set[str]) -> None:
        if "hostname" in keys:
            name = str(want.get("hostname", ""))
            if len(name) > HOST_NAME_MAX:
                raise DeviceError(
                    f"host name {name!r} is {len(name)} characters; Linux takes at most "
                    f"{HOST_NAME_MAX} (HOST_NAME_MAX)"
                )
            if not all(_LABEL.match(p) for p in name.split(".")):
                raise DeviceError(f"invalid host name {name!r}")
        if "timezone" in keys:
            zone = str(want.get("timezone", ""))
            if not _ZONE.match(zone) or not self.host.path(f"{ZONEINFO}/{zone}").is_file():
                raise DeviceError(f"time zone {zone!r} is not installed ({ZONEINFO})")
        if "ntp" in keys:
            for server in want.get("ntp") or []:
                if not re.fullmatch(r"[A-Za-z0-9.:-]+", str(server)):
                    raise DeviceError(f"invalid NTP server {server!r}")


def _name(text: str | None) -> str:
    """The whole name as written: a dotted one (the gateway doc allows them) is the name,
    not its first label, or it would never match the spec."""
    return (text or "").strip()


def _set_hostname(h: Host, name: str) -> list[str]:
    """Under systemd, ask systemd-hostnamed (it holds CAP_SYS_ADMIN, so the agent's unit
    need not); elsewhere sethostname(2) through `hostname`. The pretty name is left alone:
    it is `description`."""
    if h.systemd_running() and h.has("hostnamectl"):
        return ["hostnamectl", "set-hostname", "--static", "--transient", name]
    return ["hostname", name]


def _hosts(text: str, name: str) -> str:
    """/etc/hosts with the 127.0.1.1 line (Debian's own-name entry) naming `name`."""
    lines = [line for line in text.splitlines() if not line.startswith("127.0.1.1")]
    lines.append(f"127.0.1.1\t{name}")
    return "\n".join(lines) + "\n"
