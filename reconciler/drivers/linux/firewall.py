"""firewall area: one nftables table (inet, default `reconciler`) owned by the reconciler.

The whole table is rendered from the desired area, checked with `nft -c`, then swapped in
atomically with `nft -f` (create, delete, re-create in one transaction). Other tables are
never touched. A copy is kept in /etc/reconciler and loaded at boot by a small unit.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from reconciler.drivers.linux.context import Context, desired_after
from reconciler.drivers.linux.facts import config, nft
from reconciler.drivers.linux.files import MANAGED_HEADER, dropins, restore, snapshot
from reconciler.engine.change import Change
from reconciler.engine.ports import SecretLookup
from reconciler.errors import DeviceError

PERSIST = "/etc/reconciler/nftables.nft"
UNIT = "/etc/systemd/system/reconciler-firewall.service"
SYSCTL = "/etc/sysctl.d/90-reconciler-forward.conf"
DEFAULT_PORTS = {"http": 80, "https": 443, "modbus": 502}


class FirewallDriver:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.host = ctx.host
        self.table = ctx.options.nft_table

    def ruleset(self) -> dict[str, Any]:
        return self.host.run_json(["nft", "-j", "list", "ruleset"]) or {}

    def observe(self) -> dict[str, Any]:
        return nft.reconciler_table(self.ruleset(), self.table) or {}

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        want = desired_after("firewall", self.observe(), changes) or {}
        body = render_table(self.table, want, self.service_ports())
        script = f"table inet {self.table}\ndelete table inet {self.table}\n{body}"
        self.host.run(["nft", "-c", "-f", "-"], stdin=script)
        self.host.run(["nft", "-f", "-"], stdin=script)
        if want.get("forward"):
            self.host.write(SYSCTL, f"{MANAGED_HEADER}net.ipv4.ip_forward = 1\n")
            self.host.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        self.persist(body)

    def persist(self, body: str) -> None:
        """Keep the table across reboots: a file and a oneshot unit that loads it."""
        self.host.write(PERSIST, f"#!/usr/sbin/nft -f\n{MANAGED_HEADER}{body}", mode=0o600)
        self.host.write(
            UNIT,
            f"{MANAGED_HEADER}[Unit]\nDescription=Reconciler firewall table\n"
            "After=nftables.service\nBefore=network-pre.target\nWants=network-pre.target\n\n"
            f"[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/usr/sbin/nft -f {PERSIST}\n"
            "\n[Install]\nWantedBy=multi-user.target\n",
        )
        if self.host.systemd_running():
            self.host.run(["systemctl", "daemon-reload"])
            self.host.run(["systemctl", "enable", "reconciler-firewall.service"])

    def service_ports(self) -> dict[str, int]:
        h = self.host
        sshd = config.sshd_config(
            [*dropins(h, "/etc/ssh/sshd_config.d"), h.read("/etc/ssh/sshd_config") or ""]
        )
        port = sshd.get("port", "22")
        return {
            **DEFAULT_PORTS,
            "ssh": int(port) if port.isdigit() else 22,
            **self.ctx.options.service_ports,
        }

    def checkpoint(self, changes: Sequence[Change]) -> dict[str, Any]:
        listed = self.host.run(["nft", "list", "table", "inet", self.table], check=False)
        return {
            "files": snapshot(self.host, [PERSIST, UNIT, SYSCTL]),
            "table": listed.stdout if listed.returncode == 0 else None,
        }

    def restore(self, snap: dict[str, Any]) -> None:
        restore(self.host, snap["files"])
        script = f"table inet {self.table}\ndelete table inet {self.table}\n"
        if snap["table"]:
            script += snap["table"]
        self.host.run(["nft", "-f", "-"], stdin=script)


def _family(network: str) -> str:
    return "ip6" if ipaddress.ip_network(network, strict=False).version == 6 else "ip"


def _matches(rule: dict[str, Any]) -> str:
    parts = []
    if rule.get("source"):
        parts.append(f"{_family(rule['source'])} saddr {rule['source']}")
    proto = rule["protocol"]
    if rule.get("sourcePort") is not None:
        parts.append(f"{proto} sport {rule['sourcePort']}")
    parts.append(f"{proto} dport {rule['port']}")
    return " ".join(parts)


def _comment(kind: str, name: str) -> str:
    """`comment "KIND:NAME"`: one nft string token. Rule names may hold spaces (the gateway
    doc's sample does); a quote, a backslash or a control character could end the string or
    the line, so such a name is refused here whatever the spec let through."""
    text = f"{kind}:{name}"
    if any(c in '"\\' or not c.isprintable() for c in text) or len(text.encode()) > 128:
        raise DeviceError(f"firewall rule name {name!r} cannot be an nftables comment")
    return f'comment "{text}"'


def _host_service_rules(service: dict[str, Any], port: int) -> list[str]:
    """Drop what the service's sources (per family) or sourcePort do not allow: a client
    must pass every restriction, so each is a drop rule of its own."""
    lines, comment = [], _comment("hostServices", service["name"])
    for fam in ("ip", "ip6") if service.get("sources") is not None else ():
        nets = [s for s in service["sources"] if _family(s) == fam]
        allowed = f"{fam} saddr != {{ {', '.join(nets)} }} " if nets else ""
        lines.append(
            f"\t\tmeta nfproto {'ipv4' if fam == 'ip' else 'ipv6'} {allowed}"
            f"tcp dport {port} drop {comment}"
        )
    if service.get("sourcePort") is not None:
        lines.append(f"\t\ttcp sport != {service['sourcePort']} tcp dport {port} drop {comment}")
    return lines


def render_table(table: str, want: dict[str, Any], service_ports: dict[str, int]) -> str:
    """The nft script of the reconciler's table for the firewall area `want`."""
    lines = [f"table inet {table} {{", "\tchain input {"]
    policy = "drop" if isinstance(want.get("inbound"), list) else "accept"
    lines.append(f"\t\ttype filter hook input priority filter; policy {policy};")
    if policy == "drop":
        lines += [
            "\t\tct state established,related accept",
            "\t\tct state invalid drop",
            '\t\tiifname "lo" accept',
            "\t\tmeta l4proto { icmp, ipv6-icmp } accept",
        ]
    for service in want.get("hostServices") or []:
        name = service["name"]
        if name not in service_ports:
            raise DeviceError(
                f"firewall.hostServices: the port of {name!r} is unknown; give the linux "
                "backend the option servicePorts"
            )
        lines += _host_service_rules(service, service_ports[name])
    for rule in want.get("inbound") or []:
        lines.append(f"\t\t{_matches(rule)} accept {_comment('inbound', rule['name'])}")
    lines.append("\t}")
    forwards = want.get("forward") or []
    lines += [
        "\tchain prerouting {",
        "\t\ttype nat hook prerouting priority dstnat; policy accept;",
    ]
    for rule in forwards:
        to_port = rule.get("toPort", rule["port"])
        lines.append(
            f"\t\t{_matches(rule)} dnat ip to {rule['toAddress']}:{to_port} "
            f"{_comment('forward', rule['name'])}"
        )
    lines += ["\t}", "\tchain postrouting {"]
    lines.append("\t\ttype nat hook postrouting priority srcnat; policy accept;")
    if want.get("snat"):
        lines.append(f"\t\tmasquerade {_comment('snat', 'all')}")
    lines += ["\t}", "}"]
    return "\n".join(lines) + "\n"
