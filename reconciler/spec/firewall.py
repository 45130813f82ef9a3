"""Firewall: inbound allow rules, port forwarding, SNAT and source limits for host services.

Follows the gateway reference (firewall-user-zone: `allow` and `forward` rules and SNAT;
firewall-core-zone: source restrictions on the built-in host rules). Inbound is an
allow-list, as on the gateway: a rule opens a port, nothing here closes one.
"""

import ipaddress
import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, PlainValidator, WithJsonSchema, field_validator

from reconciler.profiles import HardwareProfile
from reconciler.spec.base import IPv4, Loc, Network, SpecModel

_RULE_NAME = re.compile(r"^[A-Za-z0-9_-](?:[A-Za-z0-9 _-]{0,30}[A-Za-z0-9_-])?$")


def _rule_name(value: str) -> str:
    """Gateway doc: 1..32 ASCII characters, "ascii passphrase with '-' or '_' characters":
    letters, digits, spaces, '-' and '_' (its own sample is "open listen port 8081"). Not
    starting or ending with a space, since the name is the key rules are merged and pruned
    by; the linux backend keeps it in a quoted nftables comment."""
    if _RULE_NAME.match(value):
        return value
    problem = (
        f"invalid rule name {value!r}: use 1-32 letters, digits, spaces, '-' or '_', "
        "not starting or ending with a space"
    )
    hint = re.sub(r"[^A-Za-z0-9 _-]+", "-", value).strip()[:32].strip()
    if hint and hint != value and _RULE_NAME.match(hint):
        problem += f"; did you mean {hint!r}?"
    raise ValueError(problem)


RuleName = Annotated[
    str,
    AfterValidator(_rule_name),
    WithJsonSchema({"type": "string", "pattern": _RULE_NAME.pattern}),
]

Protocol = Literal["tcp", "udp"]
"""The gateway doc's protocol enum; a port for both needs two rules."""


def _port_range(value: Any) -> int | str:
    """502 or "502-505" (gateway doc gatewayPort/sourcePort); normalised, one clear error."""
    if isinstance(value, int) and not isinstance(value, bool):
        lo = hi = value
    elif isinstance(value, str) and value.strip():
        first, sep, last = value.strip().partition("-")
        if not first.strip().isdigit() or (sep and not last.strip().isdigit()):
            raise ValueError(f"expected a port or a range like 502-505, got {value!r}")
        lo = int(first)
        hi = int(last) if sep else lo
    else:
        raise ValueError(f"expected a port or a range like 502-505, got {value!r}")
    for port in (lo, hi):
        if not 1 <= port <= 65535:
            raise ValueError(f"port {port} is outside 1..65535")
    if lo > hi:
        raise ValueError(f"range {lo}-{hi} runs backwards")
    return lo if lo == hi else f"{lo}-{hi}"


PortRange = Annotated[
    int | str,
    PlainValidator(_port_range),
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "integer", "minimum": 1, "maximum": 65535},
                {"type": "string", "pattern": r"^[0-9]{1,5}(-[0-9]{1,5})?$"},
            ]
        }
    ),
]


def port_bounds(value: int | str) -> tuple[int, int]:
    """(first, last) port of a validated PortRange."""
    if isinstance(value, int):
        return value, value
    lo, _, hi = value.partition("-")
    return int(lo), int(hi or lo)


class InboundRule(SpecModel):
    """Allow traffic to a port on the device (gateway doc: user zone, type allow)."""

    name: RuleName
    """Rule name; rules are merged, diffed and pruned by name. The gateway doc's rule: 1..32
    letters, digits, spaces, '-' or '_' (its sample: "open listen port 8081")."""
    port: PortRange
    """Port or range on the device, e.g. 502 or 8000-8010."""
    protocol: Protocol
    """tcp or udp."""
    source: Network | None = None
    """Allowed source address or CIDR; any source when omitted."""
    source_port: PortRange | None = None
    """Allowed source port or range; any when omitted."""


class ForwardRule(SpecModel):
    """Forward a device port to a host behind it (gateway doc: user zone, type forward)."""

    name: RuleName
    """Rule name; rules are merged, diffed and pruned by name. The gateway doc's rule: 1..32
    letters, digits, spaces, '-' or '_' (its sample: "open listen port 8081")."""
    port: PortRange
    """Port or range exposed on the device."""
    protocol: Protocol
    """tcp or udp."""
    to_address: IPv4
    """Address of the host that receives the traffic."""
    to_port: PortRange | None = None
    """Port or range on that host; the same as `port` when omitted. A range must be as long."""
    source: Network | None = None
    """Allowed source address or CIDR; any source when omitted."""
    source_port: PortRange | None = None
    """Allowed source port or range; any when omitted."""

    @field_validator("to_address")
    @classmethod
    def _unicast(cls, value: str) -> str:
        ip = ipaddress.IPv4Address(value)
        if ip.is_loopback or ip.is_multicast or ip.is_unspecified or int(ip) == 0xFFFFFFFF:
            raise ValueError(f"{value} cannot receive forwarded traffic (not a unicast host)")
        return value


HostService = Literal["ssh", "http", "https", "modbus", "status"]
"""Services of the device itself. Their ports come from the spec (access.ssh.port,
access.httpServer.httpsPort, modbus.slave.tcp.port, the status endpoint's listen port)."""


class HostServiceRule(SpecModel):
    """Restrict who may reach a device service (gateway doc: firewall-core-zone sourceIp,
    sourcePort); give sources, sourcePort or both."""

    name: HostService
    """The service: ssh, http, https, modbus or status (the reconciler's status endpoint)."""
    sources: list[Network] | None = Field(default=None, min_length=1)
    """Source addresses or CIDRs allowed to reach it; everyone else is dropped. Left out:
    any source (the doc's empty sourceIp)."""
    source_port: PortRange | None = None
    """Source port or range clients must connect from, e.g. 1024-65535; others are dropped
    (doc: sourcePort; left out: any, the doc's empty string)."""


class FirewallSpec(SpecModel):
    inbound: list[InboundRule] | None = None
    """Allow rules for traffic to the device."""
    forward: list[ForwardRule] | None = None
    """Port-forwarding rules to hosts behind the device."""
    snat: bool | None = None
    """Masquerade forwarded traffic behind the device's address (gateway doc: user snat)."""
    host_services: list[HostServiceRule] | None = None
    """Source restrictions for the device's own services."""
    prune: bool = False
    """Remove rules this reconciler created earlier that are gone from the spec (never
    rules it did not create)."""


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _sources_overlap(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return True
    na, nb = ipaddress.ip_network(a), ipaddress.ip_network(b)
    return na.version == nb.version and na.overlaps(nb)


def _fmt(bounds: tuple[int, int]) -> str:
    return str(bounds[0]) if bounds[0] == bounds[1] else f"{bounds[0]}-{bounds[1]}"


def document_problems(spec: FirewallSpec) -> Iterator[tuple[Loc, str]]:
    """Cross-field checks, located at the offending key (relative to `firewall`)."""
    forwards = spec.forward or []
    for i, rule in enumerate(forwards):
        ports = port_bounds(rule.port)
        if rule.to_port is not None:
            to_ports = port_bounds(rule.to_port)
            if to_ports[1] - to_ports[0] != ports[1] - ports[0]:
                yield (
                    ("forward", i, "toPort"),
                    f"toPort {_fmt(to_ports)} is not as long as port {_fmt(ports)}",
                )
        for other in forwards[:i]:
            if (
                other.protocol == rule.protocol
                and _overlap(port_bounds(other.port), ports)
                and _sources_overlap(other.source, rule.source)
            ):
                yield (
                    ("forward", i, "port"),
                    f"{rule.protocol}/{_fmt(ports)} is already forwarded by rule {other.name!r}",
                )
                break
    for i, inbound in enumerate(spec.inbound or []):
        ports = port_bounds(inbound.port)
        for fwd in forwards:
            if fwd.protocol == inbound.protocol and _overlap(port_bounds(fwd.port), ports):
                yield (
                    ("inbound", i, "port"),
                    f"{inbound.protocol}/{_fmt(ports)} is forwarded by rule {fwd.name!r}; "
                    "the device never receives it",
                )
                break
    for i, service in enumerate(spec.host_services or []):
        if service.sources is None and service.source_port is None:
            yield (
                ("hostServices", i, "sources"),
                "required field is missing: give sources, sourcePort or both",
            )
        seen: set[str] = set()
        for j, source in enumerate(service.sources or []):
            if source in seen:
                yield ("hostServices", i, "sources", j), f"{source} is listed twice"
            seen.add(source)


def capability_problems(spec: FirewallSpec, profile: HardwareProfile) -> Iterator[tuple[Loc, str]]:
    """The firewall needs nothing model-specific; runs the cross-field checks."""
    yield from document_problems(spec)
