"""Self-lockout checks: refuse a plan that would leave operators unable to reach the device.

Each rule compares the device as observed with the device as it would be after the plan
(`target`), so a device that is already unreachable some way is not blamed on this plan.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

ADMIN_ROLE = "admin"
ADMIN_PERMISSIONS = frozenset({"*", "*:*", "admin", "system:admin"})
OTHER_SHELLS = ("telnet", "serial-console", "cockpit", "webui")
DEFAULT_SSH_PORT = 22


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def admin_accounts(state: Mapping[str, Any]) -> list[str]:
    """Enabled accounts that hold a role named admin or granting every permission."""
    access = _dict(state.get("access"))
    admin_roles = {ADMIN_ROLE}
    for role in _list(access.get("roles")):
        perms = set(_list(_dict(role).get("permissions")))
        if perms & ADMIN_PERMISSIONS:
            admin_roles.add(str(role.get("name")))
    return sorted(
        str(user.get("name"))
        for user in map(_dict, _list(access.get("users")))
        if user.get("enabled", True) is not False
        and not user.get("locked", False)
        and admin_roles & set(_list(user.get("roles")))
    )


def ssh_port(state: Mapping[str, Any]) -> int:
    port = _dict(_dict(state.get("access")).get("ssh")).get("port", DEFAULT_SSH_PORT)
    return int(port) if isinstance(port, int) else DEFAULT_SSH_PORT


def ssh_enabled(state: Mapping[str, Any]) -> bool:
    ssh = _dict(_dict(state.get("access")).get("ssh"))
    service = _dict(state.get("services")).get("ssh")
    return ssh.get("enable", True) is not False and service != "stopped"


def other_shells(state: Mapping[str, Any]) -> list[str]:
    services = _dict(state.get("services"))
    return [name for name in OTHER_SHELLS if services.get(name) == "running"]


def _port_matches(rule_port: Any, port: int) -> bool:
    if isinstance(rule_port, bool):
        return False
    if isinstance(rule_port, int):
        return rule_port == port
    if isinstance(rule_port, str):
        if "-" in rule_port or ":" in rule_port:
            lo, _, hi = rule_port.replace(":", "-").partition("-")
            return lo.strip().isdigit() and hi.strip().isdigit() and int(lo) <= port <= int(hi)
        return rule_port.isdigit() and int(rule_port) == port
    if isinstance(rule_port, list):
        return any(_port_matches(p, port) for p in rule_port)
    return False


def _allows_some_source(rule: Mapping[str, Any]) -> bool:
    sources = rule.get("source", rule.get("sources", "0.0.0.0/0"))
    if isinstance(sources, list):
        return bool(sources)
    return sources is None or bool(sources)


def tcp_port_open(state: Mapping[str, Any], port: int) -> bool:
    """Whether managed inbound rules let TCP `port` in from at least one source.

    With no `firewall.inbound` list the firewall is not filtering inbound, so it is open.
    """
    firewall = _dict(state.get("firewall"))
    if not isinstance(firewall.get("inbound"), list):
        return True
    for rule in map(_dict, firewall["inbound"]):
        if rule.get("enabled", True) is False or rule.get("action", "accept") != "accept":
            continue
        if rule.get("protocol", "tcp") not in ("tcp", "any", "all", "tcp+udp"):
            continue
        if _port_matches(rule.get("port"), port) and _allows_some_source(rule):
            return True
    return False


def _route_providers(state: Mapping[str, Any]) -> list[str]:
    """Interfaces that can carry a default route, in route-priority order."""
    network = _dict(state.get("network"))
    providers: list[str] = []
    for name, iface in _dict(network.get("interfaces")).items():
        iface = _dict(iface)
        if iface.get("enabled", True) is False:
            continue
        if iface.get("dhcp") is True or _gateway_reachable(iface):
            providers.append(name)
    for name, wifi in _dict(network.get("wifi")).items():
        wifi = _dict(wifi)
        client = wifi.get("enabled", True) is not False and wifi.get("mode") == "client"
        if client and _list(wifi.get("networks")):
            providers.append(name)
    for name, cell in _dict(network.get("cellular")).items():
        if _dict(cell).get("enabled", False) is True:
            providers.append(name)
    order = [str(n) for n in _list(network.get("routePriority"))]
    return sorted(providers, key=lambda n: order.index(n) if n in order else len(order))


def _gateway_reachable(iface: Mapping[str, Any]) -> bool:
    gateway, address = iface.get("gateway"), iface.get("address")
    if not gateway:
        return False
    if not address:
        return True
    try:
        return ipaddress.ip_address(gateway) in ipaddress.ip_interface(address).network
    except ValueError:
        return False


def _touches(changed_areas: Iterable[str], *areas: str) -> bool:
    return any(a in areas for a in changed_areas)


def lockout_refusals(
    observed: Mapping[str, Any],
    target: Mapping[str, Any],
    changed_areas: Iterable[str],
    *,
    status_port: int | None = None,
) -> list[str]:
    """One sentence per rule the plan breaks; empty when it is safe to apply."""
    areas = set(changed_areas)
    refusals: list[str] = []
    if _touches(areas, "access"):
        admins = admin_accounts(observed)
        if admins and not admin_accounts(target):
            refusals.append(
                "the plan would leave no enabled account holding an admin role "
                f"(today: {', '.join(admins)})"
            )
    if (
        _touches(areas, "access", "services")
        and ssh_enabled(observed)
        and not ssh_enabled(target)
        and not other_shells(target)
    ):
        refusals.append(
            "the plan disables ssh and no other management path "
            f"({', '.join(OTHER_SHELLS)}) would be running"
        )
    if _touches(areas, "firewall", "access"):
        ports = [("ssh", ssh_port(observed), ssh_port(target))]
        if status_port:
            ports.append(("the status endpoint", status_port, status_port))
        for what, old_port, new_port in ports:
            if tcp_port_open(observed, old_port) and not tcp_port_open(target, new_port):
                refusals.append(
                    f"the inbound firewall rules would drop {what} (tcp/{new_port}) "
                    "for every source"
                )
    if _touches(areas, "network"):
        before_routes, after_routes = _route_providers(observed), _route_providers(target)
        if before_routes and not after_routes:
            refusals.append(
                f"the plan takes down {before_routes[0]}, which holds the default route, "
                "and no other interface would carry one"
            )
    return refusals
