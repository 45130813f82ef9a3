"""Host services the reconciler starts or stops (ssh, telnet, ...)."""

from __future__ import annotations

from typing import Literal

ServiceState = Literal["running", "stopped"]
