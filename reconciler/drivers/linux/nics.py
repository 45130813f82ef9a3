"""Telemetry: network interfaces in the portal's networking/interfaces shape, with
addresses, default gateway, DNS servers, link speed (sysfs) and counters (/proc/net/dev,
else iproute2's)."""

from __future__ import annotations

from typing import Any

from reconciler.drivers.linux.devices import attributes
from reconciler.drivers.linux.facts import config, hardware, iwscan
from reconciler.drivers.linux.host import Host, Unavailable


def interface_type(host: Host, name: str, link: dict[str, Any]) -> str:
    if link["linkType"] == "loopback":
        return "Loopback"
    if host.exists(f"/sys/class/net/{name}/wireless"):
        return "Wi-Fi"
    if name.startswith(("wwan", "ppp")):
        return "Cellular"
    return "Ethernet" if link["linkType"] == "ether" else str(link["linkType"])


def interfaces(
    host: Host, links: dict[str, dict[str, Any]], routes: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    nameservers = config.resolv_conf(host.read("/etc/resolv.conf") or "")["nameservers"]
    speeds = hardware.link_speeds(attributes(host, "/sys/class/net", ("speed",)))
    traffic = hardware.net_dev(host.read("/proc/net/dev") or "")
    best = routes[0]["dev"] if routes else None
    out = []
    for name, link in links.items():
        mine = [r for r in routes if r["dev"] == name]
        entry: dict[str, Any] = {
            "ifIndex": link["index"],
            "name": name,
            "type": interface_type(host, name, link),
            "mtu": link["mtu"],
            "connected": link["lowerUp"] and link["up"],
            "isDefault": name == best,
            "hardwareAddress": link["mac"],
            "addresses": [a["cidr"] for a in link["addresses"]],
            "dhcpEnabled": any(a["dynamic"] for a in link["addresses"]),
        }
        if mine:
            entry["gateway"] = [r["gateway"] for r in mine if r["gateway"]]
            entry["ipv4Metric"] = mine[0]["metric"]
            entry["dns"] = nameservers
        entry.update(speeds.get(name) or {})
        counters = traffic.get(name) or link["counters"]
        if counters is not None:
            entry["iocounters"] = {"ifindex": link["index"], **counters}
        out.append(entry)
    return out


def wifi_networks(host: Host) -> dict[str, list[dict[str, Any]]]:
    """The networks each Wi-Fi interface last saw, from the kernel's scan cache (`iw dev
    NAME scan dump`: reading it scans nothing, so it never disturbs the link)."""
    names = [
        name
        for name in host.listdir("/sys/class/net")
        if host.exists(f"/sys/class/net/{name}/wireless")
    ]
    if not names:
        raise Unavailable("no Wi-Fi interface in /sys/class/net")
    if not host.has("iw"):
        raise Unavailable("iw is not installed: no Wi-Fi scan results")
    out: dict[str, list[dict[str, Any]]] = {}
    for name in names:
        result = host.run(["iw", "dev", name, "scan", "dump"], check=False, timeout=10)
        out[name] = iwscan.scan_dump(result.stdout) if result.returncode == 0 else []
    return out
