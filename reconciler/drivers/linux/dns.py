"""network.dns: static DNS servers through systemd-resolved, NetworkManager's global DNS,
or a plain /etc/resolv.conf, whichever the host uses."""

from __future__ import annotations

import os
import stat
from typing import Any

from reconciler.drivers.linux.facts import config
from reconciler.drivers.linux.files import MANAGED_HEADER, with_dropins
from reconciler.drivers.linux.host import Host
from reconciler.errors import DeviceError

RESOLVED_DROPIN = "/etc/systemd/resolved.conf.d/50-reconciler.conf"
NM_DNS = "/etc/NetworkManager/conf.d/50-reconciler-dns.conf"
RESOLV_CONF = "/etc/resolv.conf"
PATHS = (RESOLVED_DROPIN, NM_DNS, RESOLV_CONF)
"""Every file a DNS change may write (for checkpoints)."""


def mode(host: Host) -> str:
    """resolved, networkmanager or file: who owns /etc/resolv.conf."""
    link = host.readlink(RESOLV_CONF) or ""
    if "systemd/resolve" in link:
        return "resolved"
    if "NetworkManager" in link or "NetworkManager" in (host.read(RESOLV_CONF) or "")[:200]:
        return "networkmanager"
    return "file"


def _doc(servers: list[str], search: list[str], static: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"enabled": static and bool(servers)}
    if servers:
        out["primary"] = servers[0]
    if len(servers) > 1:
        out["secondary"] = servers[1]
    if search:
        out["search"] = search
    return out


def observe(host: Host) -> dict[str, Any]:
    how = mode(host)
    if how == "resolved":
        conf = config.merged_ini(
            with_dropins(host, "/etc/systemd/resolved.conf", "/etc/systemd/resolved.conf.d")
        )
        resolve = conf.get("Resolve", {})
        servers = [s for v in resolve.get("DNS", []) for s in v.split()]
        search = [d for v in resolve.get("Domains", []) for d in v.split() if d != "~."]
        return _doc(servers, search, True)
    if how == "networkmanager" and host.exists(NM_DNS):
        conf = config.ini(host.read(NM_DNS) or "")
        servers = conf.get("global-dns-domain-*", {}).get("servers", [""])[-1].split(",")
        search = conf.get("global-dns", {}).get("searches", [""])[-1].split(",")
        return _doc([s for s in servers if s], [s for s in search if s], True)
    parsed = config.resolv_conf(host.read(RESOLV_CONF) or "")
    return _doc(parsed["nameservers"], parsed["search"], how == "file")


def apply(host: Host, want: dict[str, Any]) -> None:
    servers = [s for s in (want.get("primary"), want.get("secondary")) if s]
    search = [str(s) for s in want.get("search") or []]
    static = want.get("enabled", True) is not False
    if static and not servers:
        raise DeviceError("static DNS needs a primary server")
    how = mode(host)
    if how == "resolved":
        if static:
            text = f"{MANAGED_HEADER}[Resolve]\nDNS={' '.join(servers)}\n"
            if search:
                text += f"Domains={' '.join(search)}\n"
            host.write(RESOLVED_DROPIN, text)
        else:
            host.remove(RESOLVED_DROPIN)
        if host.systemd_running():
            host.run(["systemctl", "try-restart", "systemd-resolved"])
        return
    if how == "networkmanager":
        if static:
            text = f"{MANAGED_HEADER}[global-dns-domain-*]\nservers={','.join(servers)}\n"
            if search:
                text += f"\n[global-dns]\nsearches={','.join(search)}\n"
            host.write(NM_DNS, text)
        else:
            host.remove(NM_DNS)
        if host.has("nmcli"):
            host.run(["nmcli", "general", "reload", "dns-full"])
        return
    if not static:
        raise DeviceError(
            "this host keeps DNS in a plain /etc/resolv.conf: there is no resolver "
            "(systemd-resolved, NetworkManager) to take DNS servers from DHCP"
        )
    lines = [MANAGED_HEADER.rstrip(), *(f"nameserver {s}" for s in servers)]
    if search:
        lines.append(f"search {' '.join(search)}")
    _rewrite_keeping_owner(host, RESOLV_CONF, "\n".join(lines) + "\n")


def _rewrite_keeping_owner(host: Host, path: str, text: str) -> None:
    """Replace a plain file with its mode and owner kept (a site may have made
    /etc/resolv.conf 0444 or given it to another user); a new file gets 0644, root."""
    try:
        old = os.lstat(host.path(path))
    except FileNotFoundError:
        host.write(path, text)
        return
    if not stat.S_ISREG(old.st_mode):
        host.write(path, text)
        return
    host.write(path, text, stat.S_IMODE(old.st_mode))
    target = host.path(path)
    if (target.stat().st_uid, target.stat().st_gid) != (old.st_uid, old.st_gid):
        os.chown(target, old.st_uid, old.st_gid)
