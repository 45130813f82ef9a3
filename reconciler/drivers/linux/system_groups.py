"""The gateway doc's system-group settings on a Debian host: the system use notification
(the pre-login banner: /etc/issue.net shown by sshd's Banner), the system log (journald's
retention, a drop-in) and the serial console (serial-getty on the console line). The
other system groups have no Debian counterpart and are reported unavailable, with why."""

from __future__ import annotations

import json
from typing import Any

from reconciler.drivers.linux.context import Context
from reconciler.drivers.linux.facts import config, retention
from reconciler.drivers.linux.files import MANAGED_HEADER, dropins, with_dropins
from reconciler.drivers.linux.units import is_enabled, set_enabled
from reconciler.errors import DeviceUnavailable
from reconciler.fsutil import atomic_write
from reconciler.spec.banner import DEFAULT_TEXT

ISSUE_NET = "/etc/issue.net"
SSHD_BANNER_DROPIN = "/etc/ssh/sshd_config.d/20-reconciler-banner.conf"
RECORDED = "linux/system-groups.json"
"""Declared values the host's files cannot hold, kept by the agent: the banner's userText
while the default text is shown, the system log's timeToLiveDay while it is off."""
JOURNALD_DROPIN = "/etc/systemd/journald.conf.d/99-reconciler.conf"
CONSOLE = "serial-getty@ttyS0.service"
"""The login getty on the first serial line, the console of Debian's serial images."""
DEFAULT_TTL_DAYS = 7

UNAVAILABLE = {
    "auditLog": "the gateway's audit service has no Debian counterpart (auditd keeps the "
    "kernel's audit trail and has no time to live or storage alert threshold)",
    "bios": "a BIOS configuration switch is firmware of the gateway, not a host setting",
    "discovery": "the gateway's discovery (provision) service does not exist on Debian",
    "encryptedStorage": "encrypting a partition in place is not a setting on Debian "
    "(LUKS formats it, destroying its data)",
}
"""System groups the linux backend cannot set, and why."""


def refuse_unavailable(keys: set[str]) -> None:
    for key in sorted(keys & set(UNAVAILABLE)):
        raise DeviceUnavailable(f"system.{key} is not available on linux: {UNAVAILABLE[key]}")


def observe(ctx: Context) -> dict[str, Any]:
    h = ctx.host
    log = retention.journald(
        with_dropins(h, "/etc/systemd/journald.conf", "/etc/systemd/journald.conf.d")
    )
    days = _recorded(ctx).get("timeToLiveDay")
    if not log["enableTimeToLive"] and days is not None:
        log["timeToLiveDay"] = days
    return {
        "banner": _banner(ctx),
        "systemLog": log,
        "serialConsole": {"enable": is_enabled(h, "getty.target", CONSOLE)},
    }


def _banner(ctx: Context) -> dict[str, Any]:
    h = ctx.host
    sshd = config.sshd_config(
        [*dropins(h, "/etc/ssh/sshd_config.d"), h.read("/etc/ssh/sshd_config") or ""]
    )
    path = sshd.get("banner", "none")
    text = (h.read(ISSUE_NET if path == "none" else path) or "").removesuffix("\n")
    default = text == DEFAULT_TEXT
    return {
        "enable": path != "none",
        "enableDefaultText": default,
        "userText": str(_recorded(ctx).get("userText", "")) if default else text,
    }


def _recorded(ctx: Context) -> dict[str, Any]:
    try:
        return dict(json.loads((ctx.state_dir / RECORDED).read_text()))
    except (OSError, ValueError, TypeError):
        return {}


def _record(ctx: Context, key: str, value: Any) -> None:
    data = {**_recorded(ctx), key: value}
    atomic_write(ctx.state_dir / RECORDED, json.dumps(data).encode())


def apply(ctx: Context, want: dict[str, Any], keys: set[str]) -> None:
    """Write the groups in `keys` as `want` (the whole system area after the changes)."""
    if "banner" in keys:
        _apply_banner(ctx, want["banner"])
    if "systemLog" in keys:
        _apply_journald(ctx, want["systemLog"])
    if "serialConsole" in keys:
        set_enabled(ctx.host, "getty.target", CONSOLE, bool(want["serialConsole"]["enable"]))


def _apply_banner(ctx: Context, banner: dict[str, Any]) -> None:
    h = ctx.host
    user = str(banner.get("userText") or "")
    text = DEFAULT_TEXT if banner.get("enableDefaultText", True) else user
    _record(ctx, "userText", user)
    h.write(ISSUE_NET, text + "\n")
    shown = ISSUE_NET if banner.get("enable", True) else "none"
    h.write(SSHD_BANNER_DROPIN, f"{MANAGED_HEADER}Banner {shown}\n")
    if not h.offline and h.systemd_running():
        h.run(["systemctl", "try-reload-or-restart", "ssh.service"])


def _apply_journald(ctx: Context, log: dict[str, Any]) -> None:
    h = ctx.host
    target = log.get("targetDiskName", "System")
    if target != "System":
        raise DeviceUnavailable(
            f"system.systemLog.targetDiskName {target!r}: journald writes to the system "
            'disk only ("System")'
        )
    lines = [MANAGED_HEADER.rstrip("\n"), "[Journal]"]
    if log.get("desiredDiskCacheSizeMB") is not None:
        lines.append(f"SystemMaxUse={int(log['desiredDiskCacheSizeMB'])}M")
    days = int(log.get("timeToLiveDay") or DEFAULT_TTL_DAYS)
    _record(ctx, "timeToLiveDay", days)
    lines.append(
        f"MaxRetentionSec={days}day" if log.get("enableTimeToLive") else "MaxRetentionSec=0"
    )
    h.write(JOURNALD_DROPIN, "\n".join(lines) + "\n")
    if not h.offline and h.systemd_running():
        h.run(["systemctl", "restart", "systemd-journald.service"])
