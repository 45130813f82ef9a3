"""Enabling systemd units the way `systemctl enable` does (a symlink in the target's
.wants directory), so it works under `--root` too; then, on a live systemd, the unit is
started, restarted or stopped to match."""

from __future__ import annotations

from reconciler.drivers.linux.files import symlink
from reconciler.drivers.linux.host import Host, Unavailable

UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")


def unit_file(host: Host, name: str) -> str | None:
    """Where the unit file (or the template of an instance, `a@b.service` -> `a@.service`)
    is installed; None when it is not."""
    base = name.split("@", 1)[0] + "@.service" if "@" in name else name
    for directory in UNIT_DIRS:
        if host.exists(f"{directory}/{base}"):
            return f"{directory}/{base}"
    return None


def require(host: Host, name: str) -> str:
    """The installed unit file of `name`; Unavailable (before anything is written) if none."""
    installed = unit_file(host, name)
    if installed is None:
        raise Unavailable(f"this host has no unit {name} (its package is not installed)")
    return installed


def wants_link(target: str, name: str) -> str:
    return f"/etc/systemd/system/{target}.wants/{name}"


def is_enabled(host: Host, target: str, name: str) -> bool:
    return host.readlink(wants_link(target, name)) is not None


def set_enabled(host: Host, target: str, name: str, on: bool, restart: bool = False) -> None:
    """Enable and start (restart when `restart`), or disable and stop, unit `name`."""
    link = wants_link(target, name)
    if on:
        symlink(host, link, require(host, name))
    else:
        host.remove(link)
    if host.offline or not host.systemd_running():
        return
    host.run(["systemctl", "daemon-reload"])
    if on:
        host.run(["systemctl", "restart" if restart else "start", name])
    else:
        host.run(["systemctl", "stop", name], check=False)
