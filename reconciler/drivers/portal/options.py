"""How to reach one portal unit (the CLI flags, or a device file's metadata.connection)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PortalOptions:
    endpoint: str
    """Base URL of the unit, e.g. https://10.20.3.15 (a path prefix is kept)."""
    credentials: str
    """Name of the secret holding "user:password" (never the value)."""
    account: str = "os"
    """os or admin: the doc's m=0 / m=2."""
    ca_cert: str | None = None
    insecure: bool = False
    timeout: float = 10.0
    rate: float = 50.0
    """Requests per second to this unit at most."""
    confirm_window: float = 60.0
    """Seconds a network change has to leave the unit's API answering, else it is restored."""
