"""Interface configuration files: systemd-networkd `.network` units and NetworkManager
keyfiles, rendered from the spec's interface fields and parsed back (pure)."""

from __future__ import annotations

import ipaddress
from typing import Any

from reconciler.drivers.linux.facts.config import ini
from reconciler.drivers.linux.files import MANAGED_HEADER

NETWORKD_DIR = "/etc/systemd/network"
NM_DIR = "/etc/NetworkManager/system-connections"


def path_for(renderer: str, ifname: str) -> str:
    if renderer == "networkmanager":
        return f"{NM_DIR}/reconciler-{ifname}.nmconnection"
    return f"{NETWORKD_DIR}/10-reconciler-{ifname}.network"


def render(renderer: str, ifname: str, iface: dict[str, Any], metric: int | None) -> str:
    return (_keyfile if renderer == "networkmanager" else _networkd)(ifname, iface, metric)


def _networkd(ifname: str, iface: dict[str, Any], metric: int | None) -> str:
    lines = [MANAGED_HEADER.rstrip(), "[Match]", f"Name={ifname}", ""]
    link = []
    if iface.get("mtu"):
        link.append(f"MTUBytes={iface['mtu']}")
    if iface.get("enabled") is False:
        link.append("ActivationPolicy=always-down")
    if link:
        lines += ["[Link]", *link, ""]
    lines.append("[Network]")
    if iface.get("dhcp"):
        lines.append("DHCP=ipv4")
    elif iface.get("address"):
        lines.append(f"Address={iface['address']}")
    if iface.get("gateway") and not iface.get("dhcp"):
        lines += ["", "[Route]", f"Gateway={iface['gateway']}"]
        if metric is not None:
            lines.append(f"Metric={metric}")
    dhcp = _networkd_dhcp(iface.get("dhcpClient") or {})
    if iface.get("dhcp") and metric is not None:
        dhcp.insert(0, f"RouteMetric={metric}")
    if iface.get("dhcp") and dhcp:
        lines += ["", "[DHCPv4]", *dhcp]
    return "\n".join(lines) + "\n"


_YES = {True: "yes", False: "no"}
_NM_BOOL = {True: "true", False: "false"}
NETWORKD_DHCP = {
    "hostname": "Hostname",
    "sendHostname": "SendHostname",
    "clientId": "ClientIdentifier",
    "vendorClassId": "VendorClassIdentifier",
    "useDns": "UseDNS",
}
NM_DHCP = {
    "hostname": "dhcp-hostname",
    "sendHostname": "dhcp-send-hostname",
    "clientId": "dhcp-client-id",
    "vendorClassId": "dhcp-vendor-class-identifier",
    "useDns": "ignore-auto-dns",
}
"""dhcpClient keys and the file keys that hold them (NetworkManager's ignore-auto-dns is
useDns inverted)."""


def _networkd_dhcp(client: dict[str, Any]) -> list[str]:
    return [
        f"{NETWORKD_DHCP[k]}={_YES[v] if isinstance(v, bool) else v}"
        for k, v in client.items()
        if k in NETWORKD_DHCP
    ]


def _keyfile_dhcp(client: dict[str, Any]) -> list[str]:
    out = []
    for key, value in client.items():
        if key == "useDns":
            value = not value
        out.append(f"{NM_DHCP[key]}={_NM_BOOL[value] if isinstance(value, bool) else value}")
    return out


def _dhcp_client(section: dict[str, list[str]], names: dict[str, str]) -> dict[str, Any]:
    """dhcpClient from a file's section (the inverse of the two renderers)."""
    out: dict[str, Any] = {}
    for key, file_key in names.items():
        if file_key not in section:
            continue
        raw = section[file_key][-1]
        if key in ("sendHostname", "useDns"):
            flag = raw.lower() in ("yes", "true", "1")
            out[key] = not flag if file_key == "ignore-auto-dns" else flag
        else:
            out[key] = raw
    return out


def _keyfile(ifname: str, iface: dict[str, Any], metric: int | None) -> str:
    lines = [
        MANAGED_HEADER.rstrip(),
        "[connection]",
        f"id=reconciler-{ifname}",
        "type=ethernet",
        f"interface-name={ifname}",
        f"autoconnect={'false' if iface.get('enabled') is False else 'true'}",
        "",
        "[ethernet]",
    ]
    if iface.get("mtu"):
        lines.append(f"mtu={iface['mtu']}")
    lines += ["", "[ipv4]"]
    if iface.get("dhcp"):
        lines += ["method=auto", *_keyfile_dhcp(iface.get("dhcpClient") or {})]
    elif iface.get("address"):
        lines += ["method=manual", f"address1={iface['address']}"]
        if iface.get("gateway"):
            lines[-1] += f",{iface['gateway']}"
    else:
        lines.append("method=disabled")
    if metric is not None:
        lines.append(f"route-metric={metric}")
    return "\n".join(lines) + "\n"


def parse(renderer: str, text: str) -> dict[str, Any]:
    """What a file says: dhcp, dhcpClient, address, gateway, mtu, metric, enabled (keys it
    sets)."""
    doc = ini(text)
    out: dict[str, Any] = {}
    if renderer == "networkmanager":
        ipv4 = {k: v[-1] for k, v in doc.get("ipv4", {}).items()}
        out["dhcp"] = ipv4.get("method") == "auto"
        client = _dhcp_client(doc.get("ipv4", {}), NM_DHCP)
        if client:
            out["dhcpClient"] = client
        if "address1" in ipv4:
            addr, _, gw = ipv4["address1"].partition(",")
            out["address"] = str(ipaddress.ip_interface(addr))
            if gw:
                out["gateway"] = gw
        if "route-metric" in ipv4:
            out["metric"] = int(ipv4["route-metric"])
        mtu = doc.get("ethernet", {}).get("mtu")
        if mtu:
            out["mtu"] = int(mtu[-1])
        auto = doc.get("connection", {}).get("autoconnect", ["true"])[-1]
        out["enabled"] = auto != "false"
        return out
    net = doc.get("Network", {})
    out["dhcp"] = net.get("DHCP", ["no"])[-1] in ("yes", "ipv4", "true")
    client = _dhcp_client(doc.get("DHCPv4", {}), NETWORKD_DHCP)
    if client:
        out["dhcpClient"] = client
    if net.get("Address"):
        out["address"] = str(ipaddress.ip_interface(net["Address"][0]))
    route = doc.get("Route", {})
    if route.get("Gateway"):
        out["gateway"] = route["Gateway"][-1]
    metric = route.get("Metric") or doc.get("DHCPv4", {}).get("RouteMetric")
    if metric:
        out["metric"] = int(metric[-1])
    link = doc.get("Link", {})
    if link.get("MTUBytes"):
        out["mtu"] = int(link["MTUBytes"][-1])
    out["enabled"] = link.get("ActivationPolicy", ["up"])[-1] != "always-down"
    return out
