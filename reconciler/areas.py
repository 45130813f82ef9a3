"""The one registry of configuration areas: the single home of the list of areas, the
order they are applied in, their default risk, whether they can cut connectivity and which
backends implement them.

Every layer reads it (spec, engine, drivers, agent, api, services), so it imports nothing
of the project. Adding an area is one entry here plus its drivers; adding a backend is its
name in the entries it implements (an area a backend lacks is reported unavailable, never
silently skipped).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Risk = Literal["none", "disruptive", "connectivity", "reboot"]
"""What could go wrong when a change is applied (ordered from harmless to worst)."""

BACKENDS = ("sim", "linux", "portal")
"""Every backend by name; `reconciler.operations.open_backend` opens them."""


@dataclass(frozen=True)
class RiskRule:
    """A path inside an area whose risk differs from the area's default; `*` is any segment."""

    pattern: str
    risk: Risk
    why: str
    when: tuple[tuple[str, str], ...] = ()
    """(key, value) pairs the changed item must hold too (an operation's `action`)."""


@dataclass(frozen=True)
class Area:
    name: str
    risk: Risk
    """Default risk of a change to this area."""
    why: str
    """Why the default risk (printed with the change)."""
    rules: tuple[RiskRule, ...] = ()
    """Paths with their own risk, most specific first."""
    backends: frozenset[str] = frozenset(BACKENDS)
    """Backends with a driver that manages this area."""
    service: bool = False
    """Configures a service the agent itself hosts (Modbus, the uplink)."""
    prunes: bool = False
    """A plain list of named items: those the reconciler created and the spec no longer
    lists are removed without an area-level `prune: true` (there is no map to hold one)."""
    once: bool = False
    """A list of one-shot named items (operations): an item the device has not recorded
    is added (run) once; a recorded one is history, never replaced or removed."""
    lacking: tuple[tuple[str, str], ...] = ()
    """(backend, why) for backends without it: the reason reported as unavailable."""

    def why_unavailable(self, backend: str) -> str:
        """Why `backend` does not manage this area ("" when no reason is recorded)."""
        return dict(self.lacking).get(backend, "")

    @property
    def can_cut_connectivity(self) -> bool:
        """Some change to this area can cut the device off: it is applied safely."""
        return self.risk == "connectivity" or any(r.risk == "connectivity" for r in self.rules)


_SSH = "the ssh server is how operators get in"
_REBOOTS = "the device goes down"
_HOSTED = frozenset({"sim", "linux"})
"""Areas the portal's REST API has no documented writes for."""

AREAS: tuple[Area, ...] = (
    # identity and accounts first: reachable by the right people before the network changes
    Area("system", "none", "", backends=_HOSTED),
    Area(
        "access",
        "none",
        "",
        rules=(RiskRule("access.ssh", "connectivity", _SSH),),
        backends=_HOSTED,
    ),
    Area(
        "network",
        "connectivity",
        "interface, route, DNS and Wi-Fi changes can cut the device off",
    ),
    Area(
        "firewall",
        "connectivity",
        "firewall rules decide who can still reach the device",
        backends=_HOSTED,
    ),
    # then what runs on top of them: its files first
    Area("files", "none", "", prunes=True, backends=_HOSTED),
    Area(
        "services",
        "disruptive",
        "starts or stops a running service",
        rules=(RiskRule("services.ssh", "connectivity", _SSH),),
    ),
    Area(
        "serial",
        "disruptive",
        "reopens serial ports that field devices are using",
        rules=(
            RiskRule(
                "serial.ports.*.mode",
                "reboot",
                "the transceiver mode (RS-232/422/485) switches at boot",
            ),
        ),
        backends=_HOSTED,
    ),
    Area(
        "io", "disruptive", "digital outputs may drive wired equipment", backends=frozenset({"sim"})
    ),
    Area("gpio", "disruptive", "outputs may drive wired equipment"),
    Area("leds", "none", ""),
    Area("brightness", "none", "", backends=frozenset({"sim", "portal"})),
    Area("watchdog", "disruptive", "an armed watchdog resets the device when it is not fed"),
    # the services the agent hosts, then update policy last
    Area(
        "modbus",
        "disruptive",
        "reconfigures the running Modbus service",
        service=True,
        backends=_HOSTED,
    ),
    Area("cloud", "none", "", service=True, backends=_HOSTED),
    Area("update", "none", "", backends=_HOSTED),
    # the gateway's peripherals and apps (gateway doc: gps, openvpn, function, azure iotedge)
    Area("gps", "none", "", backends=_HOSTED),
    Area(
        "vpn",
        "disruptive",
        "starts, stops or restarts a VPN tunnel and the routes it brings",
        backends=_HOSTED,
    ),
    Area(
        "edge",
        "disruptive",
        "reconfigures apps running on the gateway",
        backends=frozenset({"sim"}),
        lacking=(
            (
                "linux",
                "edge functions, Azure IoT Edge and service accounts are services of the "
                "gateway's own software, which a Debian host does not run",
            ),
        ),
    ),
    # one-shot operations last: a reboot runs on the configuration just applied
    Area(
        "operations",
        "disruptive",
        "runs a one-shot action on the device",
        rules=(
            RiskRule("operations.*", "reboot", _REBOOTS, when=(("action", "reboot"),)),
            RiskRule("operations.*", "reboot", _REBOOTS, when=(("action", "shutdown"),)),
            RiskRule("operations.*", "none", "", when=(("action", "blink"),)),
        ),
        once=True,
        backends=_HOSTED,
    ),
)

BY_NAME: dict[str, Area] = {a.name: a for a in AREAS}
AREA_NAMES: tuple[str, ...] = tuple(BY_NAME)
SERVICE_AREAS: frozenset[str] = frozenset(a.name for a in AREAS if a.service)
CONNECTIVITY_AREAS: frozenset[str] = frozenset(a.name for a in AREAS if a.can_cut_connectivity)
PRUNING_AREAS: frozenset[str] = frozenset(a.name for a in AREAS if a.prunes)
ONE_SHOT_AREAS: frozenset[str] = frozenset(a.name for a in AREAS if a.once)


def rank(area: str) -> int:
    """Apply order of `area`; unknown areas sort last."""
    return AREA_NAMES.index(area) if area in BY_NAME else len(AREA_NAMES)


def implemented_by(backend: str) -> tuple[str, ...]:
    """The areas `backend` manages, in apply order."""
    return tuple(a.name for a in AREAS if backend in a.backends)


def risk_of(segments: list[str], value: object = None) -> tuple[Risk, str]:
    """(risk, why) of a change at the path `segments` (item names as plain strings) that
    sets `value` (a rule's `when` looks into it)."""
    area = BY_NAME.get(segments[0]) if segments else None
    if area is None:
        return "none", ""
    for rule in area.rules:
        want = rule.pattern.split(".")
        if rule.when and not (
            isinstance(value, dict) and all(value.get(k) == v for k, v in rule.when)
        ):
            continue
        if len(want) <= len(segments) and all(
            w in ("*", s) for w, s in zip(want, segments, strict=False)
        ):
            return rule.risk, rule.why
    return area.risk, area.why
