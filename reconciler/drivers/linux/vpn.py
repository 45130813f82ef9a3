"""vpn area on a Debian host: each OpenVPN client profile is /etc/openvpn/client/NAME.conf
(mode 0600, written from its secret, reported only as a fingerprint) run by the unit
openvpn-client@NAME, enabled when the profile is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.drivers.linux.context import Context, desired_after
from reconciler.drivers.linux.units import is_enabled, require, set_enabled
from reconciler.engine.change import Change, Item, is_secret_ref
from reconciler.engine.credentials import fingerprint_bytes
from reconciler.engine.ports import SecretLookup
from reconciler.errors import DeviceFailed, DeviceRefused
from reconciler.fsutil import atomic_write

CLIENT_DIR = "/etc/openvpn/client"
TARGET = "multi-user.target"


def unit(name: str) -> str:
    return f"openvpn-client@{name}.service"


class VpnDriver:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.host = ctx.host

    def observe(self) -> dict[str, Any]:
        clients = []
        for entry in self.host.listdir(CLIENT_DIR):
            if not entry.endswith(".conf"):
                continue
            name = entry.removesuffix(".conf")
            data = self.host.path(f"{CLIENT_DIR}/{entry}").read_bytes()
            clients.append(
                {
                    "name": name,
                    "enable": is_enabled(self.host, TARGET, unit(name)),
                    "profile": fingerprint_bytes(data),
                }
            )
        return {"openvpn": clients}

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        names = {_client(c) for c in changes}
        after = desired_after("vpn", self.observe(), changes) or {}
        wanted = {c["name"]: c for c in after.get("openvpn") or [] if isinstance(c, dict)}
        if None in names:  # the whole list or area changed: every client is in play
            names = (set(wanted) | {c["name"] for c in self.observe()["openvpn"]}) - {None}
        for name in sorted(n for n in names if n is not None):
            if name not in wanted:
                set_enabled(self.host, TARGET, unit(name), False)
                self.host.remove(f"{CLIENT_DIR}/{name}.conf")
                continue
            self._put(name, wanted[name], secrets)

    def _put(self, name: str, client: dict[str, Any], secrets: SecretLookup) -> None:
        on = client.get("enable", True) is not False
        if on:
            require(self.host, unit(name))
        profile = client.get("profile")
        written = isinstance(profile, dict) and is_secret_ref(profile)
        if isinstance(profile, dict) and written:
            text = secrets(str(profile["secretRef"]))
            atomic_write(self.host.path(f"{CLIENT_DIR}/{name}.conf"), text.encode(), mode=0o600)
        elif not self.host.exists(f"{CLIENT_DIR}/{name}.conf"):
            raise DeviceFailed(f"vpn.openvpn[{name}]: no profile to write")
        set_enabled(self.host, TARGET, unit(name), on, restart=written)


def _client(change: Change) -> str | None:
    """The client a change is about; None when it is about the whole list or area."""
    if len(change.path) > 2 and isinstance(change.path[2], Item):
        item = change.path[2]
        if "/" in item.name or item.name.startswith("."):
            raise DeviceRefused(f"invalid OpenVPN client name {item.name!r}")
        return item.name
    return None
