"""What the status endpoint serves: a backend, a state directory and (optionally) a spec.

The agent builds one of these to serve in-process (`target` is then a callable returning
the spec it currently reconciles); `reconcile serve` builds one from its options.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from reconciler.engine.ports import DeviceBackend
    from reconciler.operations import Target

Mode = Literal["serve", "agent"]


@dataclass
class ApiContext:
    """Everything the endpoint reads; nothing here is ever written to by it.

    backend:   give the endpoint its own backend instance (`operations.open_backend`):
               backends are not thread-safe, and the endpoint reads from worker threads.
    target:    the device spec (accounts, desired state), a callable returning the
               current one, or None (then the spec of the last successful apply is used).
    secrets:   secret lookup (`SecretResolver`) for secretRef passwords and plans.
    mode:      "agent" serves the agent's status.json; "serve" computes sync status.
    """

    backend: DeviceBackend
    state_dir: Path
    secrets: Callable[[str], str]
    target: Target | Callable[[], Target | None] | None = None
    mode: Mode = "serve"
    cache_seconds: float = 1.0
    sse_interval: float = 2.0
    token_ttl: float = 3600.0
    tls: bool = False
    status_port: int | None = None
    tags: Callable[[], dict[str, Any]] | None = None
    """The agent's Modbus tags (None when no Modbus service runs: an empty map)."""
    cloud_connection: Callable[[], dict[str, Any] | None] | None = None
    """The agent's live MQTT connection state for /edgehub/api/connection."""

    def current_target(self) -> Target | None:
        """The spec given, or what the callable returns now (None if it has none)."""
        if self.target is None:
            return None
        if callable(self.target):
            return self.target()
        return self.target
