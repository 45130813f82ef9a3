"""modbus and cloud areas: configuration of services the agent itself runs, kept as JSON
in the state dir (secrets only as fingerprints) for those services to read.

`cloud.clients` is refused here: on a Debian host nothing runs those connections (the agent
runs its own uplink, cloud.mqtt, only), so storing them would claim a state the host lacks."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

from reconciler.drivers.linux.context import Context, desired_after
from reconciler.engine.change import Change, is_secret_ref
from reconciler.engine.credentials import fingerprint
from reconciler.engine.ports import SecretLookup
from reconciler.errors import DeviceUnavailable
from reconciler.fsutil import atomic_write

STORE = "linux/agent-services.json"
UNRUN: dict[str, tuple[str, str]] = {
    "cloud": (
        "clients",
        "the linux backend runs no cloud clients besides the agent's uplink (cloud.mqtt); "
        "AWS IoT Core, Azure IoT Hub, Sparkplug B and further MQTT brokers need their "
        "vendor's client, which a Debian host does not have",
    ),
}
"""Parts of a stored area that nothing on the host would carry out: (key, why)."""


def fingerprints(value: Any, secrets: SecretLookup) -> Any:
    """`value` with every secret reference replaced by the fingerprint of its value."""
    if is_secret_ref(value):
        return fingerprint(secrets(value["secretRef"]))
    if isinstance(value, dict):
        return {k: fingerprints(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [fingerprints(v, secrets) for v in value]
    return value


class StoredDriver:
    def __init__(self, ctx: Context, area: str) -> None:
        self.ctx = ctx
        self.area = area

    def load(self) -> dict[str, Any]:
        try:
            return dict(json.loads((self.ctx.state_dir / STORE).read_text()))
        except FileNotFoundError:
            return {}

    def observe(self) -> Any:
        return copy.deepcopy(self.load().get(self.area, {}))

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        key, why = UNRUN.get(self.area, ("", ""))
        if key and (desired_after(self.area, self.observe(), changes) or {}).get(key):
            raise DeviceUnavailable(f"{self.area}.{key}: {why}")
        data = self.load()
        data[self.area] = fingerprints(desired_after(self.area, self.observe(), changes), secrets)
        atomic_write(self.ctx.state_dir / STORE, json.dumps(data, indent=1).encode(), mode=0o600)
