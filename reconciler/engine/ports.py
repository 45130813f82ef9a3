"""The contracts every layer shares: what the engine needs from a backend and its area
drivers, how secrets are looked up, and the typed errors drivers raise.

Drivers, services and the CLI import these, never the planner or the applier, so the
arrows point one way: implementations depend on contracts, not on each other.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from reconciler.engine.change import Change
from reconciler.errors import DeviceError, DeviceFailed, DeviceRefused, DeviceUnavailable

if TYPE_CHECKING:
    from reconciler.profiles import HardwareProfile

__all__ = [
    "UNMANAGED",
    "AreaDriver",
    "Backend",
    "Checkpointing",
    "DeviceBackend",
    "DeviceError",
    "DeviceFailed",
    "DeviceRefused",
    "DeviceUnavailable",
    "Focusing",
    "Inventory",
    "Probing",
    "SafeApplyOptions",
    "SecretLookup",
]

SecretLookup = Callable[[str], str]
"""Returns a secret's value by name; raises LookupError (reconciler.secrets.SecretNotFound)."""

Inventory = Collection[tuple[str, str]]
"""(collection dotted path, item name) pairs the reconciler created."""


UNMANAGED = "unmanaged"
"""Key a driver's observe may add to an area it owns whole (the linux firewall's nftables
table): one readable line per thing in it the spec cannot express and rendering the spec
would not produce (a rule, chain or set added by hand), present only when there is any.
The planner plans one `remove` of `<area>.unmanaged` whenever the spec declares the area;
applying the area must then leave nothing unmanaged (the driver rewrites what it owns from
the spec), so observing it again reports no such key. Drivers of areas they share with
others (and the sim and portal backends) never report it."""


class AreaDriver(Protocol):
    """One area of one device: read it, execute changes to it. An area the driver owns
    whole may report content the spec cannot express under UNMANAGED."""

    def observe(self) -> Any: ...

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None: ...


@runtime_checkable
class Checkpointing(AreaDriver, Protocol):
    """A driver that can save what `changes` will touch and put it back: the engine's
    safe apply uses it to revert a change that cut the device off."""

    def checkpoint(self, changes: Sequence[Change]) -> dict[str, Any]: ...

    def restore(self, snap: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class SafeApplyOptions:
    """How the engine's safe apply proves a connectivity change did not cut the device off."""

    must_reach: tuple[str, ...] = ()
    """host:port targets the device must still reach (agent.mustReach and the backend's)."""
    confirm_window: float = 120.0
    """Seconds within which the change must prove reachability or is reverted."""
    probe_interval: float = 2.0
    """Seconds between reachability probes inside the window."""
    guard: bool = True
    """Arm a detached guard process that reverts even if the applying process dies."""


@runtime_checkable
class Probing(Protocol):
    """A backend that can tell whether the device still reaches its targets: the engine's
    safe apply needs it (with a Checkpointing driver) to guard connectivity changes."""

    def safe_apply_options(self) -> SafeApplyOptions: ...

    def unreachable(self, targets: Sequence[str], timeout: float) -> list[str]:
        """The targets the device cannot open a TCP connection to right now, probed from
        where the device is; all of them when the backend lost its own path to it."""
        ...

    def reopen(self) -> tuple[str, dict[str, Any]] | None:
        """How another process gets this backend's area drivers: `module:callable` taking
        (area, **arguments) and plain JSON arguments; None when it cannot (no guard)."""
        ...


class Backend(Protocol):
    """A device as the engine sees it: per-area drivers and an observe of every area."""

    name: str

    def driver(self, area: str) -> AreaDriver: ...

    def observe(self) -> dict[str, Any]:
        """Configuration areas only: what the planner compares (fast)."""
        ...


class DeviceBackend(Backend, Protocol):
    """A backend as the services and the status endpoint see it: also its hardware
    profile and read-only telemetry (what `observe`, Modbus tags and the API read)."""

    profile: HardwareProfile

    def observe_all(self) -> dict[str, Any]:
        """Configuration plus telemetry (system.cpuPercent, hwmon, host, disks)."""
        ...


@runtime_checkable
class Focusing(Protocol):
    """A backend that observes some areas only where asked: the files area has no list of
    its own, so it looks at the paths the spec names and those the reconciler created."""

    def focus(self, desired: Mapping[str, Any], inventory: Inventory) -> None: ...
