"""Pure parsers for iproute2 JSON (`ip -j -s addr`, `ip -j route`)."""

from __future__ import annotations

import ipaddress
from typing import Any


def addresses(data: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """By interface: flags, mtu, MAC, addresses and (with `-s`) counters."""
    out: dict[str, dict[str, Any]] = {}
    for link in data:
        addrs = []
        for a in link.get("addr_info", []):
            if "local" not in a:
                continue
            addrs.append(
                {
                    "family": "ipv4" if a.get("family") == "inet" else "ipv6",
                    "cidr": f"{a['local']}/{a.get('prefixlen', 32)}",
                    "scope": a.get("scope", "global"),
                    "dynamic": bool(a.get("dynamic", False)),
                }
            )
        out[link["ifname"]] = {
            "index": link.get("ifindex"),
            "up": "UP" in link.get("flags", []),
            "lowerUp": "LOWER_UP" in link.get("flags", []),
            "mtu": link.get("mtu"),
            "mac": link.get("address"),
            "linkType": link.get("link_type"),
            "operstate": link.get("operstate"),
            "addresses": addrs,
            "counters": counters(link["stats64"]) if "stats64" in link else None,
        }
    return out


def default_routes(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """IPv4 default routes (main table) as {dev, gateway, metric}, best metric first."""
    out = []
    for r in data:
        if r.get("dst") != "default" or r.get("type", "unicast") != "unicast":
            continue
        if "gateway" in r and ipaddress.ip_address(r["gateway"]).version != 4:
            continue
        out.append({"dev": r.get("dev"), "gateway": r.get("gateway"), "metric": r.get("metric", 0)})
    return sorted(out, key=lambda r: r["metric"])


def counters(stats: dict[str, Any]) -> dict[str, int]:
    """`stats64` of `ip -s` in the portal's iocounters names."""
    rx, tx = stats.get("rx", {}), stats.get("tx", {})
    return {
        "bytesRecv": rx.get("bytes", 0),
        "packetsRecv": rx.get("packets", 0),
        "errin": rx.get("errors", 0),
        "dropin": rx.get("dropped", 0),
        "bytesSent": tx.get("bytes", 0),
        "packetsSent": tx.get("packets", 0),
        "errout": tx.get("errors", 0),
        "dropout": tx.get("dropped", 0),
    }
