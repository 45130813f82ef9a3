"""What every linux area driver is handed: the host, the backend's options, its state dir."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from reconciler.drivers.linux.host import Host
from reconciler.engine.change import Change, Item
from reconciler.engine.document import apply_changes
from reconciler.errors import OperationError

OPTIONS_FILE = "linux/options.json"
"""Backend options an operator keeps in the state dir (camelCase keys of LinuxOptions)."""


@dataclass(frozen=True)
class LinuxOptions:
    """Knobs of the linux backend; defaults suit a Debian gateway."""

    must_reach: tuple[str, ...] = ()
    """host:port targets the device must still reach after a risky change (else revert)."""
    confirm_window: float = 120.0
    """Seconds within which a risky change must prove reachability or is reverted."""
    probe_interval: float = 2.0
    """Seconds between reachability probes inside the confirm window."""
    nft_table: str = "reconciler"
    """The one nftables table (family inet) the reconciler owns."""
    network_renderer: str | None = None
    """networkd or networkmanager; detected from what the host runs when None."""
    serial_ports: Mapping[str, str] = field(default_factory=dict)
    """Spec port id -> device (`/dev/ttyUSB0`); default port N is /dev/ttyS(N-1)."""
    gpio_chip: str | None = None
    """GPIO chip whose lines are the spec's pins (default: the first one)."""
    leds: tuple[str, ...] = ()
    """sysfs LED names by spec index (default: all LEDs, sorted by name)."""
    service_ports: Mapping[str, int] = field(default_factory=dict)
    """Ports of host services for firewall.hostServices (ssh defaults to sshd's port)."""
    admin_group: str | None = None
    """The group that is the built-in admin role (default: sudo, else wheel)."""
    guard: bool = True
    """Arm a detached guard process that reverts a risky change even if this one dies."""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> LinuxOptions:
        names = {f.name: f for f in fields(cls)}
        camel = {_camel(n): n for n in names}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            name = camel.get(key, key)
            if name not in names:
                raise OperationError(f"unknown linux backend option {key!r}")
            kwargs[name] = tuple(value) if isinstance(value, list) else value
        return cls(**kwargs)

    @classmethod
    def load(cls, state_dir: Path) -> LinuxOptions:
        path = state_dir / OPTIONS_FILE
        try:
            return cls.from_mapping(json.loads(path.read_text()))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, TypeError) as exc:
            raise OperationError(f"cannot read linux backend options {path}: {exc}") from None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


@dataclass
class Context:
    host: Host
    options: LinuxOptions
    state_dir: Path
    file_paths: set[str] = field(default_factory=set)
    """The files area observes these paths only (the backend's focus)."""


def desired_after(area: str, current: Any, changes: Sequence[Change]) -> Any:
    """The area as it should be once `changes` are made (drivers converge to this)."""
    return apply_changes({area: current if current is not None else {}}, changes).get(area)


def _segments(change: Change) -> tuple[str, ...]:
    return tuple(p.name if isinstance(p, Item) else p for p in change.path[1:])


def touched(changes: Sequence[Change], *prefix: str) -> bool:
    """Whether any change is at, below or above `area.prefix...` (a change of the whole
    area or collection touches every item in it)."""
    for change in changes:
        path = _segments(change)
        n = min(len(path), len(prefix))
        if path[:n] == prefix[:n]:
            return True
    return False
