"""network area: interface addressing (networkd or NetworkManager files, made live with
`ip`), route priority as default-route metrics, and DNS. Wi-Fi and cellular are not
managed by this backend."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from reconciler.drivers.linux import dns, netfiles
from reconciler.drivers.linux.context import Context, desired_after, touched
from reconciler.drivers.linux.facts import iproute
from reconciler.drivers.linux.files import restore, snapshot
from reconciler.engine.change import Change
from reconciler.engine.ports import SecretLookup
from reconciler.errors import DeviceError

METRIC_BASE = 100
"""routePriority gives the first interface metric 100, the next 200, and so on."""
UNSUPPORTED = ("wifi", "cellular", "checkAlive")


class NetworkDriver:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.host = ctx.host

    # -- observe ---------------------------------------------------------------------

    def links(self) -> dict[str, dict[str, Any]]:
        return iproute.addresses(self.host.run_json(["ip", "-j", "-s", "addr", "show"]) or [])

    def routes(self) -> list[dict[str, Any]]:
        data = self.host.run_json(["ip", "-j", "-4", "route", "show", "table", "main"])
        return iproute.default_routes(data or [])

    def renderer(self) -> str:
        """networkd or networkmanager: the option, else whichever runs, else networkd."""
        if self.ctx.options.network_renderer:
            return self.ctx.options.network_renderer
        if self.host.exists("/run/NetworkManager") and not self.host.exists(
            "/run/systemd/netif/links"
        ):
            return "networkmanager"
        return "networkd"

    def renderer_running(self) -> bool:
        if self.renderer() == "networkmanager":
            return self.host.exists("/run/NetworkManager") and self.host.has("nmcli")
        return self.host.exists("/run/systemd/netif/links") and self.host.has("networkctl")

    def configured(self, ifname: str) -> dict[str, Any] | None:
        renderer = self.renderer()
        text = self.host.read(netfiles.path_for(renderer, ifname))
        return netfiles.parse(renderer, text) if text is not None else None

    def observe(self) -> dict[str, Any]:
        links, routes = self.links(), self.routes()
        interfaces: dict[str, Any] = {}
        metrics: dict[str, int] = {}
        for name, link in links.items():
            if link["linkType"] == "loopback":
                continue
            cfg = self.configured(name) or {}
            v4 = [a for a in link["addresses"] if a["family"] == "ipv4" and a["scope"] == "global"]
            iface: dict[str, Any] = {
                "enabled": link["up"],
                "dhcp": cfg.get("dhcp", any(a["dynamic"] for a in v4)),
                "mtu": link["mtu"],
            }
            if "dhcpClient" in cfg:
                iface["dhcpClient"] = cfg["dhcpClient"]
            if v4:
                iface["address"] = v4[0]["cidr"]
            route = next((r for r in routes if r["dev"] == name), None)
            if route is not None:
                if route["gateway"]:
                    iface["gateway"] = route["gateway"]
                metrics[name] = route["metric"]
            elif "metric" in cfg:
                metrics[name] = cfg["metric"]
            if name in metrics:
                iface["metric"] = metrics[name]
            interfaces[name] = iface
        return {
            "interfaces": interfaces,
            "routePriority": sorted(metrics, key=lambda n: (metrics[n], n)),
            "dns": dns.observe(self.host),
        }

    # -- apply -----------------------------------------------------------------------

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        for key in UNSUPPORTED:
            if touched(changes, key):
                raise DeviceError(f"the linux backend does not manage network.{key}")
        links = self.links()
        want = desired_after("network", self.observe(), changes)
        names = self.changed_interfaces(changes, want)
        metrics = self.metrics(want)
        self.validate(want, names, links, changes)
        renderer = self.renderer()
        for name in names:
            want["interfaces"][name] = iface = self.pinned(name, want["interfaces"][name], changes)
            path = netfiles.path_for(renderer, name)
            mode = 0o600 if renderer == "networkmanager" else 0o644
            self.host.write(path, netfiles.render(renderer, name, iface, metrics.get(name)), mode)
        if self.renderer_running() and names:
            self.reload_renderer(names)
        for name in names:
            self.make_live(name, want["interfaces"][name], metrics.get(name), links[name])
        if touched(changes, "dns"):
            dns.apply(self.host, _dns_wanted(want.get("dns") or {}, changes))

    def pinned(self, name: str, iface: dict[str, Any], changes: Sequence[Change]) -> dict[str, Any]:
        """`iface` as its file should say: only what the spec sets or the file already
        holds. `enabled: false` (always down) only when asked for or already in the file: a
        link that is merely down (nothing has configured it yet) is not pinned down, or
        networkd would never bring it up for DHCP. The link's MTU, observed, is not written
        back as MTUBytes unless the spec sets one."""
        held = self.configured(name) or {}
        out = dict(iface)
        if (
            out.get("enabled") is False
            and not touched(changes, "interfaces", name, "enabled")
            and held.get("enabled") is not False
        ):
            del out["enabled"]
        if "mtu" in out and "mtu" not in held and not touched(changes, "interfaces", name, "mtu"):
            del out["mtu"]
        return out

    def changed_interfaces(self, changes: Sequence[Change], want: dict[str, Any]) -> list[str]:
        interfaces = want.get("interfaces") or {}
        if touched(changes, "routePriority"):
            return [n for n in interfaces if n in (want.get("routePriority") or [])] + [
                n
                for n in interfaces
                if n not in (want.get("routePriority") or []) and touched(changes, "interfaces", n)
            ]
        return [n for n in interfaces if touched(changes, "interfaces", n)]

    def metrics(self, want: dict[str, Any]) -> dict[str, int]:
        """Route metric per interface: from routePriority order, else the interface's own."""
        out = {
            name: int(iface["metric"])
            for name, iface in (want.get("interfaces") or {}).items()
            if iface.get("metric") is not None
        }
        for i, name in enumerate(want.get("routePriority") or []):
            out[name] = METRIC_BASE * (i + 1)
        return out

    def validate(
        self,
        want: dict[str, Any],
        names: list[str],
        links: dict[str, dict[str, Any]],
        changes: Sequence[Change],
    ) -> None:
        for name in [*names, *(want.get("routePriority") or [])]:
            if name not in links:
                raise DeviceError(f"this host has no interface {name}")
        for name in names:
            iface = want["interfaces"][name]
            asked = touched(changes, "interfaces", name)
            if iface.get("dhcp") and asked and not self.renderer_running():
                raise DeviceError(
                    f"{name}: DHCP needs {self.renderer()} running on this host to take effect"
                )
            if iface.get("dhcp") is False and not iface.get("address"):
                raise DeviceError(f"{name}: dhcp: false needs a static address")
            try:
                addr = ipaddress.ip_interface(iface["address"]) if iface.get("address") else None
                gateway = ipaddress.ip_address(iface["gateway"]) if iface.get("gateway") else None
            except ValueError as exc:
                raise DeviceError(f"{name}: {exc}") from None
            if addr is not None and gateway is not None and gateway not in addr.network:
                raise DeviceError(f"{name}: gateway {gateway} is outside {addr.network}")
            mtu = iface.get("mtu")
            if mtu is not None and not 68 <= int(mtu) <= 9000:
                raise DeviceError(f"{name}: MTU {mtu} is outside 68..9000")

    def reload_renderer(self, names: list[str]) -> None:
        if self.renderer() == "networkmanager":
            self.host.run(["nmcli", "connection", "reload"])
            for name in names:
                self.host.run(["nmcli", "connection", "up", f"reconciler-{name}"])
        else:
            self.host.run(["networkctl", "reload"])
            self.host.run(["networkctl", "reconfigure", *names])

    def make_live(
        self, name: str, iface: dict[str, Any], metric: int | None, link: dict[str, Any]
    ) -> None:
        """Bring the running interface to `iface` with `ip` (addresses, MTU, state, route)."""
        run = self.host.run
        if iface.get("enabled") is False:
            run(["ip", "link", "set", "dev", name, "down"])
            return
        if iface.get("mtu") is not None and iface["mtu"] != link["mtu"]:
            run(["ip", "link", "set", "dev", name, "mtu", str(iface["mtu"])])
        if iface.get("enabled") is True and not link["up"]:
            run(["ip", "link", "set", "dev", name, "up"])
        if iface.get("dhcp"):
            return
        have = [
            a["cidr"] for a in link["addresses"] if a["family"] == "ipv4" and a["scope"] == "global"
        ]
        address = iface.get("address")
        if address and have != [str(ipaddress.ip_interface(address))]:
            run(["ip", "-4", "addr", "flush", "dev", name, "scope", "global"])
            run(["ip", "addr", "add", address, "dev", name])
        gateway = iface.get("gateway")
        current = [r for r in self.routes() if r["dev"] == name]
        if gateway:
            route = ["default", "via", gateway, "dev", name, "metric", str(metric or 0)]
            run(["ip", "route", "replace", *route])
        elif metric is not None and current:
            gw = current[0]["gateway"]
            run(
                ["ip", "route", "replace", "default", "via", gw, "dev", name, "metric", str(metric)]
            )
        for old in current:
            if gateway is None and metric is None:
                break
            if old["metric"] != (metric or 0) or (gateway and old["gateway"] != gateway):
                via = ["via", old["gateway"]] if old["gateway"] else []
                run(
                    [
                        "ip",
                        "route",
                        "del",
                        "default",
                        *via,
                        "dev",
                        name,
                        "metric",
                        str(old["metric"]),
                    ],
                    check=False,
                )

    # -- checkpoint ------------------------------------------------------------------

    def checkpoint(self, changes: Sequence[Change]) -> dict[str, Any]:
        """Files and the live addresses/routes of every interface, for an exact revert."""
        links = self.links()
        paths = [netfiles.path_for(r, n) for n in links for r in ("networkd", "networkmanager")]
        return {
            "files": snapshot(self.host, [*paths, *dns.PATHS]),
            "links": links,
            "routes": self.routes(),
            "renderer": self.renderer_running(),
        }

    def restore(self, snap: dict[str, Any]) -> None:
        restore(self.host, snap["files"])
        run = self.host.run
        now = self.links()
        for name, old in snap["links"].items():
            if name not in now or old["linkType"] == "loopback":
                continue
            if now[name]["mtu"] != old["mtu"]:
                run(["ip", "link", "set", "dev", name, "mtu", str(old["mtu"])], check=False)
            run(["ip", "link", "set", "dev", name, "up" if old["up"] else "down"], check=False)
            v4 = [a for a in old["addresses"] if a["family"] == "ipv4" and a["scope"] == "global"]
            run(["ip", "-4", "addr", "flush", "dev", name, "scope", "global"], check=False)
            for a in v4:
                run(["ip", "addr", "add", a["cidr"], "dev", name], check=False)
        for route in self.routes():
            if route not in snap["routes"]:
                via = ["via", route["gateway"]] if route["gateway"] else []
                run(
                    [
                        "ip",
                        "route",
                        "del",
                        "default",
                        *via,
                        "dev",
                        route["dev"],
                        "metric",
                        str(route["metric"]),
                    ],
                    check=False,
                )
        for route in snap["routes"]:
            via = ["via", route["gateway"]] if route["gateway"] else []
            run(
                [
                    "ip",
                    "route",
                    "replace",
                    "default",
                    *via,
                    "dev",
                    route["dev"],
                    "metric",
                    str(route["metric"]),
                ],
                check=False,
            )
        if snap["renderer"]:
            self.reload_renderer([n for n in snap["links"] if n in now])
        if self.host.systemd_running() and dns.mode(self.host) == "resolved":
            run(["systemctl", "try-restart", "systemd-resolved"], check=False)


def _dns_wanted(want: dict[str, Any], changes: Sequence[Change]) -> dict[str, Any]:
    """Servers given without `enabled` mean static DNS: the `enabled: false` observed
    before (no static servers yet) must not switch the new servers off again."""
    servers = touched(changes, "dns", "primary") or touched(changes, "dns", "secondary")
    if servers and not touched(changes, "dns", "enabled") and want.get("primary"):
        return {**want, "enabled": True}
    return want
