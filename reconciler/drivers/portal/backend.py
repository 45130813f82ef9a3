"""The portal backend: a unit driven through its platform-portal REST API (httpx).

`observe` needs no spec and no model: the unit says what it has (its areas, GPIO and LED
counts, watchdog and brightness ranges, its model from host/info). An area the unit
answers 404 for is listed under `unavailable`; a spec declaring it is refused at plan time.
Every change is read back after its write.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

import httpx

from reconciler.drivers.portal.checks import plan_problems
from reconciler.drivers.portal.mapping import AREAS, TELEMETRY, PortalArea, parse_network, read
from reconciler.drivers.portal.options import PortalOptions
from reconciler.drivers.portal.session import (
    Call,
    Credentials,
    NotSupported,
    Policy,
    Session,
    client_options,
    run_sync,
)
from reconciler.engine.change import Change, dotted_path
from reconciler.engine.document import MISSING, apply_changes, get
from reconciler.engine.ports import SafeApplyOptions, SecretLookup
from reconciler.errors import DeviceFailed, OperationError
from reconciler.profiles import PROFILES, HardwareProfile


def limits_of(area: str, observed: Any, raw: dict[str, Any]) -> dict[str, Any]:
    """What the unit says it has, for the plan-time range checks."""
    if area == "brightness":
        body = raw[next(iter(raw))]
        return {"brightness": [body.get("min"), body.get("max")]}
    if area == "gpio":
        return {"gpioPins": len(observed["pins"])}
    if area == "leds":
        return {"leds": len(observed)}
    return {}


def observe_config(session: Session) -> Call:
    """Every managed area; areas the unit lacks under `unavailable`, its ranges under `limits`."""
    out: dict[str, Any] = {}
    unavailable: dict[str, str] = {}
    limits: dict[str, Any] = {}
    for area in AREAS.values():
        try:
            raw, out[area.name] = yield from read(session, area)
        except NotSupported as exc:
            unavailable[area.name] = str(exc)
            continue
        limits.update(limits_of(area.name, out[area.name], raw))
    out["limits"] = limits
    if unavailable:
        out["unavailable"] = unavailable
    return out


def observe_telemetry(session: Session) -> Call:
    out: dict[str, Any] = {}
    unavailable: dict[str, str] = {}
    for key, path in TELEMETRY.items():
        try:
            out[key] = yield from session.call("GET", path, key)
        except NotSupported as exc:
            unavailable[key] = str(exc)
    if unavailable:
        out["unavailable"] = unavailable
    return out


def telemetry_view(raw: dict[str, Any]) -> dict[str, Any]:
    """The unit's telemetry in the keys every backend's observe uses (host, system,
    hwmon, disks as partitions), so the status endpoint serves a portal unit like any other."""
    out = dict(raw)
    host = raw.get("host")
    if isinstance(host, dict):
        out["host"] = {**host, "model": host.get("deviceName"), "arch": host.get("kernelArch")}
        out["system"] = {"hostname": host.get("hostname"), "uptimeSeconds": host.get("upTime")}
    perf = raw.get("systemperf")
    if isinstance(perf, dict):
        usage = (perf.get("cpu") or {}).get("usage") or []
        memory = perf.get("memory") or {}
        out.setdefault("system", {}).update(
            cpuPercent=round(sum(usage) / len(usage), 1) if usage else None,
            memoryPercent=memory.get("usedPercent"),
        )
    if isinstance(raw.get("disks"), list):
        out["disks"] = [
            {**{k: v for k, v in disk.items() if k != "partitions"}, **part, "disk": disk["name"]}
            for disk in raw["disks"]
            for part in disk.get("partitions") or []
        ]
    return out


def profile_for(device_name: str | None) -> HardwareProfile | None:
    """The built-in profile whose model starts host/info's deviceName (UNO-2484G-673xAE)."""
    matches = [m for m in PROFILES if device_name and device_name.upper().startswith(m.upper())]
    return PROFILES[max(matches, key=len)] if matches else None


def apply_area(session: Session, area: PortalArea, changes: Sequence[Change]) -> Call:
    """Read the area, write what differs, read it back and check every change took."""
    raw, before = yield from read(session, area)
    after = apply_changes({area.name: before}, changes).get(area.name)
    yield from area.write(session, raw, before, after)
    _, now = yield from read(session, area)
    for change in changes:
        if change.op == "remove":
            continue
        want, got = get({area.name: after}, change.path), get({area.name: now}, change.path)
        if want != got:
            shown = "nothing" if got is MISSING else repr(got)
            raise DeviceFailed(
                f"the device accepted the change but {dotted_path(change.path)} "
                f"reads back {shown}, not {want!r}"
            )


class PortalAreaDriver:
    def __init__(self, backend: PortalBackend, area: PortalArea) -> None:
        self.backend = backend
        self.area = area

    def observe(self) -> Any:
        return self.backend.run(_observed(read(self.backend.session, self.area)))

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        self.backend.run(apply_area(self.backend.session, self.area, changes))


def _observed(call: Generator[Any, Any, tuple[dict[str, Any], Any]]) -> Call:
    _, observed = yield from call
    return observed


class PortalNetworkDriver(PortalAreaDriver):
    """Network (IPv4 settings, route order): can save and put back its settings, so the
    engine's safe apply can revert a change that cut the unit off."""

    def checkpoint(self, changes: Sequence[Change]) -> dict[str, Any]:
        raw, _ = self.backend.run(read(self.backend.session, self.area))
        return {"interfaces": raw[next(iter(raw))], "wifi": []}

    def restore(self, snap: dict[str, Any]) -> None:
        self.backend.run(_restore(self.backend.session, self.area, snap))


def _restore(session: Session, area: PortalArea, snap: dict[str, Any]) -> Call:
    raw, before = yield from read(session, area)
    saved = parse_network(
        {path: snap["interfaces"] if i == 0 else [] for i, path in enumerate(area.reads)}
    )
    after = {**saved, "wifi": {}}
    yield from area.write(session, raw, before, after)


class PortalBackend:
    name = "portal"

    def __init__(self, session: Session, options: PortalOptions, model: str | None = None) -> None:
        self.session = session
        self.options = options
        self.safe = SafeApplyOptions(
            must_reach=(session.where,),
            confirm_window=options.confirm_window,
            probe_interval=min(2.0, options.confirm_window / 4),
            guard=False,
        )
        """The engine's safe apply of network changes: the unit's API must keep answering."""
        self._client: httpx.Client | None = None
        self._model = model
        self._profile: HardwareProfile | None = None
        self._drivers: dict[str, PortalAreaDriver] = {}

    @classmethod
    def open(
        cls, options: PortalOptions, secrets: SecretLookup, model: str | None = None
    ) -> PortalBackend:
        """Connect lazily: nothing is sent until the first observe."""
        try:
            value = secrets(options.credentials)
        except LookupError as exc:
            raise OperationError(str(exc.args[0])) from None
        session = Session(
            options.endpoint,
            Credentials.parse(value, options.credentials),
            options.account,
            Policy(rate=options.rate),
        )
        return cls(session, options, model)

    def _client_options(self) -> dict[str, Any]:
        o = self.options
        return {"base_url": self.session.url, **client_options(o.ca_cert, o.insecure, o.timeout)}

    def async_client(self) -> httpx.AsyncClient:
        """A client for driving this unit's calls from an event loop (the agentless fleet)."""
        return httpx.AsyncClient(**self._client_options())

    def run(self, call: Call) -> Any:
        if self._client is None:
            self._client = httpx.Client(**self._client_options())
        return run_sync(self._client, call)

    @property
    def profile(self) -> HardwareProfile:
        """The spec's model, else the one host/info's deviceName names, else what the unit
        reports (GPIO and LED counts, watchdog and brightness ranges)."""
        if self._profile is None:
            self._profile = self._find_profile()
        return self._profile

    @profile.setter
    def profile(self, value: HardwareProfile) -> None:
        self._profile = value

    def _find_profile(self) -> HardwareProfile:
        if self._model in PROFILES:
            return PROFILES[str(self._model)]
        host = self.run(self.session.call("GET", TELEMETRY["host"], "host"))
        found = profile_for(host.get("deviceName") if isinstance(host, dict) else None)
        if found is not None:
            return found
        seen = self.observe()
        limits, wdt = seen.get("limits", {}), seen.get("watchdog") or {}
        return HardwareProfile(
            model=str(host.get("deviceName") or "portal-unit"),
            description="a platform-portal unit (profile from what it reports)",
            ethernet=tuple(seen.get("network", {}).get("interfaces", {})),
            watchdog_type=wdt.get("type"),
            watchdog_min=wdt.get("timeoutMinInSeconds") or 1,
            watchdog_max=wdt.get("timeoutMaxInSeconds") or 255,
            gpio_pins=limits.get("gpioPins", 0),
            leds=limits.get("leds", 0),
            brightness=tuple(limits["brightness"]) if "brightness" in limits else None,
        )

    def driver(self, area: str) -> PortalAreaDriver:
        if area not in self._drivers:
            if area not in AREAS:
                raise OperationError(f"the portal backend does not manage {area}")
            kind = PortalNetworkDriver if area == "network" else PortalAreaDriver
            self._drivers[area] = kind(self, AREAS[area])
        return self._drivers[area]

    def observe(self) -> dict[str, Any]:
        observed: dict[str, Any] = self.run(observe_config(self.session))
        return observed

    def observe_all(self) -> dict[str, Any]:
        out = self.observe()
        telemetry = telemetry_view(self.run(observe_telemetry(self.session)))
        unavailable = {**out.pop("unavailable", {}), **telemetry.pop("unavailable", {})}
        out.update(telemetry)
        profile = profile_for((out.get("host") or {}).get("deviceName"))
        out["model"] = profile.model if profile else None
        if unavailable:
            out["unavailable"] = unavailable
        return out

    def safe_apply_options(self) -> SafeApplyOptions:
        return self.safe

    def unreachable(self, targets: Sequence[str], timeout: float) -> list[str]:
        """Probed from here, the only place this backend sees the unit from: every target
        when the unit's API stops answering its unauthenticated /auth/ping, else none."""
        try:
            with httpx.Client(**{**self._client_options(), "timeout": timeout}) as client:
                answered = client.get("/auth/ping").status_code == 200
        except httpx.HTTPError:
            answered = False
        return [] if answered else list(targets)

    def reopen(self) -> None:
        """No revert guard process: it would need the unit's credentials in another process."""
        return None

    def plan_problems(self, desired: dict[str, Any], observed: dict[str, Any]) -> list[str]:
        return plan_problems(desired, observed)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
