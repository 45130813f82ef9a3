"""Network: Ethernet/Wi-Fi addressing, route priority, DNS, Wi-Fi and cellular settings.

Ranges and enums follow the gateway reference (ethernets, network route, dns, wifi,
cellulars, internet-check-alive). Both references configure IPv4 only, so static
addresses, gateways and DNS servers are IPv4. Cross-field checks live in
`document_problems` so that each error points at the exact key that is wrong.
"""

import ipaddress
import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, PlainValidator, WithJsonSchema

from reconciler.profiles import HardwareProfile
from reconciler.spec.base import (
    Hostname,
    HostOrIp,
    InterfaceAddress,
    IPv4,
    Loc,
    Name,
    SecretRef,
    SpecModel,
)

_IFNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{1,14}$")


def _ifname(value: str) -> str:
    """Gateway doc priorityList items: 2..15 of [A-Za-z0-9_-] (also Linux's IFNAMSIZ)."""
    if not _IFNAME.match(value):
        raise ValueError(
            f"invalid interface name {value!r}: use 2-15 letters, digits, '-' or '_', "
            "starting with a letter (eth0, wlan0, wwan0)"
        )
    return value


IfName = Annotated[
    str, AfterValidator(_ifname), WithJsonSchema({"type": "string", "pattern": _IFNAME.pattern})
]


def _ipv4_only(value: str) -> str:
    if ipaddress.ip_interface(value).version != 4:
        raise ValueError(f"{value!r} is not an IPv4 address (static addressing is IPv4 only)")
    return value


StaticAddress = Annotated[InterfaceAddress, AfterValidator(_ipv4_only)]


def _ssid(value: str) -> str:
    if len(value.encode()) > 32:
        raise ValueError("an SSID is at most 32 bytes (UTF-8)")
    return value


Ssid = Annotated[str, Field(min_length=1, max_length=32), AfterValidator(_ssid)]
"""Wi-Fi network name, 1..32 bytes."""

CHANNELS_24 = frozenset(range(1, 14))
"""2.4 GHz channels 1..13 (channel 14 is Japan-only 802.11b and not offered)."""
CHANNELS_50 = frozenset((*range(36, 65, 4), *range(100, 145, 4), *range(149, 166, 4)))
"""5 GHz 20 MHz channels (UNII-1..3); the country's regulatory domain may allow fewer."""


def _channel(value: Any) -> int | str:
    """A Wi-Fi channel number or `auto`; one clean error instead of one per union branch."""
    if value == "auto":
        return "auto"
    if isinstance(value, int) and not isinstance(value, bool):
        if value in CHANNELS_24 or value in CHANNELS_50:
            return value
        raise ValueError(f"{value} is not a Wi-Fi channel (2.4 GHz: 1..13, 5 GHz: 36..165)")
    raise ValueError(f"expected a channel number or 'auto', got {value!r}")


Channel = Annotated[
    int | str,
    PlainValidator(_channel),
    WithJsonSchema(
        {"oneOf": [{"type": "integer", "minimum": 1, "maximum": 165}, {"const": "auto"}]}
    ),
]

WifiSecurity = Literal["open", "wpa2-personal", "wpa3-personal"]
"""Gateway doc scan results show `wpa2-personal`; `open` must be written out explicitly."""
Band = Literal["band24", "band50"]
"""Gateway doc band names: 2.4 GHz and 5 GHz."""


_VENDOR_CLASS = r"^[\x21-\x7e][\x20-\x7e]{0,254}$"


class DhcpClient(SpecModel):
    """What the DHCP client sends and accepts (gateway doc: ethernets `dhcpClient`, "DHCP
    Client option"). The doc shows the object without its fields; these are the client
    options a Debian host's DHCP clients (systemd-networkd, NetworkManager) set."""

    hostname: Hostname | None = None
    """Host name sent to the server (option 12), e.g. for DNS registration; default the
    device's own host name, when the client sends one."""
    send_hostname: bool | None = None
    """Send a host name at all (option 12)."""
    client_id: Literal["mac", "duid"] | None = None
    """Client identifier (option 61): the MAC address or the DUID (RFC 4361)."""
    vendor_class_id: str | None = Field(default=None, pattern=_VENDOR_CLASS)
    """Vendor class identifier (option 60), 1..255 printable ASCII characters."""
    use_dns: bool | None = None
    """Use the DNS servers the DHCP server offers (false: only static `dns`)."""


class Interface(SpecModel):
    """IP settings of one Ethernet (or Wi-Fi) interface (gateway doc: ethernets)."""

    enabled: bool | None = None
    """Set the interface up (true) or down (false)."""
    dhcp: bool | None = None
    """Get the address from a DHCP server; `false` needs `address`."""
    address: StaticAddress | None = None
    """Static IPv4 address with prefix length, e.g. 10.0.7.20/24; needs `dhcp: false`."""
    gateway: IPv4 | None = None
    """Default gateway for a static address; must lie inside the address's subnet."""
    mtu: int | None = Field(default=None, ge=68, le=9000)
    """MTU in bytes: 68 (IPv4 minimum) up to 9000 (common jumbo-frame limit)."""
    metric: int | None = Field(default=None, ge=0, le=4294967295)
    """Route metric, lower wins. Use either this or `routePriority`, not both."""
    wan: bool | None = None
    """WAN (true) or LAN (false) role of the interface (gateway doc: ethernets `wan`)."""
    dhcp_client: DhcpClient | None = None
    """DHCP client options; with `dhcp: true` (gateway doc: dhcpClient)."""


class Dns(SpecModel):
    """Static DNS servers (gateway doc: dns; platform portal: ipv4config)."""

    enabled: bool | None = None
    """Use the static servers below (true) or the ones DHCP provides (false)."""
    primary: IPv4 | None = None
    """Primary DNS server; required when static DNS is enabled."""
    secondary: IPv4 | None = None
    """Secondary DNS server."""
    search: list[Hostname] | None = Field(default=None, max_length=6)
    """Search domains, at most 6 (the resolver's limit)."""


class CheckAlive(SpecModel):
    """Connectivity probe (gateway doc: internet-check-alive and cellular checkalive)."""

    enabled: bool | None = None
    """Probe the target periodically."""
    target: HostOrIp | None = Field(default=None, max_length=255)
    """Host name or IP to probe (doc default google.com)."""
    interval: int | None = Field(default=None, ge=10, le=86400)
    """Seconds between probes (doc default 60)."""
    timeout: int | None = Field(default=None, ge=1, le=60)
    """Seconds each probe may take (doc default 5); must be below `interval`."""
    retry: int | None = Field(default=None, ge=1, le=10)
    """Failed probes in a row before the link counts as down (doc default 3)."""


class WifiNetwork(SpecModel):
    """A network the client joins; identified by `ssid` (unique per interface)."""

    ssid: Ssid
    """Network name, 1..32 bytes."""
    psk: SecretRef | None = None
    """Pre-shared key (8..63 characters on the device); a secret, never in Git."""
    security: WifiSecurity | None = None
    """Defaults to wpa2-personal when `psk` is set; an open network needs `security: open`."""
    hidden: bool | None = None
    """The network does not broadcast its SSID (probe for it actively)."""
    priority: int | None = Field(default=None, ge=0, le=999)
    """Higher is preferred when several known networks are in range."""


class DhcpServer(SpecModel):
    """DHCP server for clients of the access point (docs silent; dnsmasq-style range)."""

    enabled: bool | None = None
    """Hand out addresses to AP clients."""
    start: IPv4 | None = None
    """First address of the pool; inside the interface's subnet."""
    end: IPv4 | None = None
    """Last address of the pool; not below `start`."""
    lease_minutes: int | None = Field(default=None, ge=2, le=10080)
    """Lease time, 2 minutes to 7 days."""


class AccessPoint(SpecModel):
    """Access-point settings (gateway doc: wifi `ap`); its address is `interfaces.<if>`."""

    ssid: Ssid | None = None
    """Broadcast network name, 1..32 bytes."""
    psk: SecretRef | None = None
    """Pre-shared key; required unless `security: open`."""
    security: WifiSecurity | None = None
    """Defaults to wpa2-personal when `psk` is set."""
    band: Band | None = None
    """Frequency band; inferred from `channel` when omitted."""
    channel: Channel | None = None
    """Channel number valid for the band, or `auto`."""
    hidden: bool | None = None
    """Do not broadcast the SSID."""
    dhcp_server: DhcpServer | None = None
    """Address pool for clients."""


class WifiInterface(SpecModel):
    """One Wi-Fi interface (gateway doc: wifi): client networks and/or AP settings."""

    enabled: bool | None = None
    """Enable Wi-Fi networking on this interface."""
    mode: Literal["client", "ap"] | None = None
    """Join networks (client) or be an access point (ap)."""
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    """ISO 3166 country code for the regulatory domain (allowed channels and power)."""
    networks: list[WifiNetwork] | None = None
    """Known networks for client mode."""
    ap: AccessPoint | None = None
    """Access-point settings for ap mode."""


class CellularProfile(SpecModel):
    """APN settings (gateway doc: Cellular Profile)."""

    apn: str | None = Field(
        default=None, max_length=100, pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$"
    )
    """Access point name from the carrier (labels of letters, digits, '-', '.')."""
    username: str | None = Field(default=None, min_length=1, max_length=255)
    """APN user name, when the carrier requires one."""
    password: SecretRef | None = None
    """APN password; a secret, never in Git."""
    auth_type: Literal["none", "pap", "chap", "pap-chap"] | None = None
    """APN authentication; pap/chap need `username`, pap-chap lets the modem negotiate."""
    pdp_type: Literal["ipv4", "ipv6", "ipv4v6"] | None = None
    """IP version of the data session."""


class FallbackProfile(CellularProfile):
    """A further APN profile tried in order when the previous one fails."""

    name: Name
    """Profile name (lists of profiles are merged by name)."""


class Cellular(CellularProfile):
    """One cellular modem (gateway doc: cellulars). The APN fields form its first profile."""

    enabled: bool | None = None
    """Enable cellular networking."""
    pin: SecretRef | None = None
    """SIM PIN; a secret, never in Git."""
    check_alive: CheckAlive | None = None
    """Probe the link and reconnect (or switch profile) when it fails."""
    fallback_profiles: list[FallbackProfile] | None = None
    """Further APN profiles for redundancy, tried in order."""
    profile_timeout: int | None = Field(default=None, ge=120, le=3600)
    """Seconds before switching to the next profile (doc default 180)."""


class NetworkSpec(SpecModel):
    interfaces: dict[IfName, Interface] | None = None
    """IP settings by interface name (Ethernet and Wi-Fi interfaces of the model)."""
    route_priority: list[IfName] | None = None
    """Interfaces in default-route order, most preferred first (gateway doc: priorityList);
    interfaces not listed keep their order after the listed ones."""
    dns: Dns | None = None
    """Static DNS servers."""
    check_alive: CheckAlive | None = None
    """Device-wide internet check (gateway doc: internet-check-alive)."""
    wifi: dict[IfName, WifiInterface] | None = None
    """Wi-Fi settings by interface name."""
    cellular: dict[IfName, Cellular] | None = None
    """Cellular settings by interface name."""


# --- checks that need several fields -----------------------------------------------------


def _interface_problems(name: str, iface: Interface) -> Iterator[tuple[Loc, str]]:
    here: Loc = ("interfaces", name)
    if iface.dhcp is True:
        for key in ("address", "gateway"):
            if getattr(iface, key) is not None:
                yield (*here, key), f"{name} uses DHCP; remove {key} or set dhcp: false"
    elif iface.dhcp is False and iface.address is None:
        yield (*here, "dhcp"), f"dhcp: false needs a static address for {name}"
    elif iface.dhcp is None and iface.address is not None:
        yield (*here, "address"), f"a static address needs dhcp: false on {name}"
    if iface.gateway is not None and iface.address is None and iface.dhcp is not True:
        yield (*here, "gateway"), "a gateway needs a static address"
    if iface.dhcp_client is not None and iface.dhcp is not True:
        yield (*here, "dhcpClient"), f"DHCP client options need dhcp: true on {name}"
    client = iface.dhcp_client
    if client is not None and client.hostname is not None and client.send_hostname is False:
        yield (*here, "dhcpClient", "hostname"), "is never sent with sendHostname: false"
    if iface.address is None:
        return
    addr = ipaddress.IPv4Interface(iface.address)
    net = addr.network
    if net.prefixlen < 31 and addr.ip in (net.network_address, net.broadcast_address):
        kind = "network" if addr.ip == net.network_address else "broadcast"
        yield (*here, "address"), f"{addr.ip} is the {kind} address of {net}"
    if iface.gateway is not None:
        gw = ipaddress.IPv4Address(iface.gateway)
        if gw not in net:
            yield (*here, "gateway"), f"gateway {gw} is outside {name}'s subnet {net}"
        elif gw == addr.ip:
            yield (*here, "gateway"), f"gateway {gw} is {name}'s own address"


def _subnet_overlaps(spec: NetworkSpec) -> Iterator[tuple[Loc, str]]:
    seen: list[tuple[str, ipaddress.IPv4Network]] = []
    for name, iface in (spec.interfaces or {}).items():
        if iface.address is None:
            continue
        net = ipaddress.IPv4Interface(iface.address).network
        for other, other_net in seen:
            if net.overlaps(other_net):
                yield (
                    ("interfaces", name, "address"),
                    f"subnet {net} overlaps {other}'s subnet {other_net}",
                )
                break
        seen.append((name, net))


def _route_problems(spec: NetworkSpec) -> Iterator[tuple[Loc, str]]:
    order = spec.route_priority or []
    seen: set[str] = set()
    for i, name in enumerate(order):
        if name in seen:
            yield ("routePriority", i), f"{name} is listed twice"
        seen.add(name)
    for name, iface in (spec.interfaces or {}).items():
        if iface.metric is not None and name in seen:
            yield (
                ("interfaces", name, "metric"),
                f"{name} is ordered by routePriority; remove its metric or drop it from "
                "routePriority",
            )


def _dns_problems(dns: Dns) -> Iterator[tuple[Loc, str]]:
    if dns.enabled is False:
        for key in ("primary", "secondary"):
            if getattr(dns, key) is not None:
                yield ("dns", key), f"static DNS is disabled; remove {key} or set enabled: true"
        return
    if dns.primary is None:
        if dns.secondary is not None:
            yield ("dns", "secondary"), "a secondary DNS server needs a primary"
        elif dns.enabled is True:
            yield ("dns", "enabled"), "static DNS needs a primary server"
    elif dns.secondary == dns.primary:
        yield ("dns", "secondary"), "secondary is the same server as primary"


def _check_alive_problems(check: CheckAlive, here: Loc) -> Iterator[tuple[Loc, str]]:
    if check.timeout is not None and check.interval is not None and check.timeout >= check.interval:
        yield (
            (*here, "timeout"),
            f"timeout {check.timeout} s must be below the interval {check.interval} s",
        )
    if check.enabled is True and check.target is None:
        yield (*here, "enabled"), "the check needs a target to probe"


def _security_problems(
    psk: SecretRef | None, security: str | None, here: Loc
) -> Iterator[tuple[Loc, str]]:
    if security == "open" and psk is not None:
        yield (*here, "psk"), "an open network has no psk; remove it or choose a WPA security"
    elif security is not None and security != "open" and psk is None:
        yield (*here, "security"), f"{security} needs a psk"


def _wifi_problems(spec: NetworkSpec) -> Iterator[tuple[Loc, str]]:
    for name, wifi in (spec.wifi or {}).items():
        here: Loc = ("wifi", name)
        ssids: set[str] = set()
        for i, net in enumerate(wifi.networks or []):
            loc: Loc = (*here, "networks", i)
            if net.ssid in ssids:
                yield (*loc, "ssid"), f"duplicate ssid {net.ssid!r}"
            ssids.add(net.ssid)
            if net.psk is None and net.security is None:
                yield loc, "give a psk, or write security: open for an open network"
            yield from _security_problems(net.psk, net.security, loc)
        iface = (spec.interfaces or {}).get(name)
        if wifi.mode == "ap" and iface is not None and iface.dhcp is True:
            yield (
                ("interfaces", name, "dhcp"),
                f"{name} is an access point; give it a static address (dhcp: false)",
            )
        if wifi.ap is not None:
            yield from _ap_problems(wifi.ap, (*here, "ap"), iface)


def _ap_problems(ap: AccessPoint, here: Loc, iface: Interface | None) -> Iterator[tuple[Loc, str]]:
    yield from _security_problems(ap.psk, ap.security, here)
    if isinstance(ap.channel, int) and ap.band is not None:
        valid = CHANNELS_24 if ap.band == "band24" else CHANNELS_50
        if ap.channel not in valid:
            span = "1..13" if ap.band == "band24" else "36..165"
            yield (*here, "channel"), f"channel {ap.channel} is not in {ap.band} ({span})"
    dhcp = ap.dhcp_server
    if dhcp is None:
        return
    dloc: Loc = (*here, "dhcpServer")
    if dhcp.enabled is True:
        for key in ("start", "end"):
            if getattr(dhcp, key) is None:
                yield (*dloc, "enabled"), f"the DHCP server needs a pool {key}"
    start, end = dhcp.start, dhcp.end
    if (
        start is not None
        and end is not None
        and ipaddress.IPv4Address(start) > ipaddress.IPv4Address(end)
    ):
        yield (*dloc, "end"), f"pool end {dhcp.end} is below its start {dhcp.start}"
    if iface is not None and iface.address is not None:
        addr = ipaddress.IPv4Interface(iface.address)
        for key in ("start", "end"):
            value = getattr(dhcp, key)
            if value is None:
                continue
            ip = ipaddress.IPv4Address(value)
            if ip not in addr.network:
                yield (*dloc, key), f"{ip} is outside the interface's subnet {addr.network}"
            elif ip == addr.ip:
                yield (*dloc, key), f"{ip} is the access point's own address"


def _cellular_problems(spec: NetworkSpec) -> Iterator[tuple[Loc, str]]:
    for name, cell in (spec.cellular or {}).items():
        here: Loc = ("cellular", name)
        profiles: list[tuple[Loc, CellularProfile]] = [(here, cell)]
        profiles += [
            ((*here, "fallbackProfiles", i), p) for i, p in enumerate(cell.fallback_profiles or [])
        ]
        for loc, profile in profiles:
            if profile.auth_type in ("pap", "chap", "pap-chap") and profile.username is None:
                yield (*loc, "authType"), f"{profile.auth_type} authentication needs a username"
            if profile.auth_type == "none":
                for key in ("username", "password"):
                    if getattr(profile, key) is not None:
                        yield (*loc, key), f"authType none sends no {key}; remove it"
        if cell.check_alive is not None:
            yield from _check_alive_problems(cell.check_alive, (*here, "checkAlive"))


def document_problems(spec: NetworkSpec) -> Iterator[tuple[Loc, str]]:
    """Cross-field checks, located at the offending key (relative to `network`)."""
    for name, iface in (spec.interfaces or {}).items():
        yield from _interface_problems(name, iface)
    yield from _subnet_overlaps(spec)
    yield from _route_problems(spec)
    if spec.dns is not None:
        yield from _dns_problems(spec.dns)
    if spec.check_alive is not None:
        yield from _check_alive_problems(spec.check_alive, ("checkAlive",))
    yield from _wifi_problems(spec)
    yield from _cellular_problems(spec)


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(names) if names else "none"


def capability_problems(spec: NetworkSpec, profile: HardwareProfile) -> Iterator[tuple[Loc, str]]:
    """Interfaces the model lacks, then the profile-independent cross-field checks."""
    model = profile.model
    addressable = (*profile.ethernet, *profile.wifi)
    for name in spec.interfaces or {}:
        if name in profile.cellular:
            yield (
                ("interfaces", name),
                f"{name} is a cellular interface: configure it under network.cellular "
                "(the carrier assigns its address)",
            )
        elif name not in addressable:
            yield (
                ("interfaces", name),
                f"{model} has no interface {name} (it has {_names(addressable)})",
            )
    for area, have, kind in (
        ("wifi", profile.wifi, "Wi-Fi"),
        ("cellular", profile.cellular, "cellular"),
    ):
        for name in getattr(spec, area) or {}:
            if name not in have:
                yield (
                    (area, name),
                    f"{model} has no {kind} interface {name} ({kind}: {_names(have)})",
                )
    for i, name in enumerate(spec.route_priority or []):
        if name not in profile.interfaces:
            yield (
                ("routePriority", i),
                f"{model} has no interface {name} (it has {_names(profile.interfaces)})",
            )
    yield from document_problems(spec)
