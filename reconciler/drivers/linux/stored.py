"""modbus and cloud areas: configuration of services the agent itself runs, kept as JSON
in the state dir (secrets only as fingerprints) for those services to read. The agent runs
`cloud.mqtt` and every enabled `cloud.clients` entry itself (reconciler/services/mqtt), so
the whole cloud area is stored: nothing here needs a vendor's client on the host."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

from reconciler.drivers.linux.context import Context, desired_after
from reconciler.engine.change import Change, is_secret_ref
from reconciler.engine.credentials import fingerprint
from reconciler.engine.ports import SecretLookup
from reconciler.fsutil import atomic_write

STORE = "linux/agent-services.json"


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
        data = self.load()
        data[self.area] = fingerprints(desired_after(self.area, self.observe(), changes), secrets)
        atomic_write(self.ctx.state_dir / STORE, json.dumps(data, indent=1).encode(), mode=0o600)
