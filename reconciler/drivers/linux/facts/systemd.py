"""Pure parsers for systemctl JSON output (`list-units`, `list-unit-files`)."""

from __future__ import annotations

from typing import Any


def units(data: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Service units by short name (`ssh` for ssh.service): load, active, sub, description."""
    out = {}
    for u in data:
        name = str(u.get("unit", ""))
        if not name.endswith(".service"):
            continue
        out[name.removesuffix(".service")] = {
            "load": u.get("load", ""),
            "active": u.get("active", ""),
            "sub": u.get("sub", ""),
            "description": u.get("description", ""),
        }
    return out


def unit_files(data: list[dict[str, Any]]) -> dict[str, str]:
    """Installed service unit files by short name -> state (enabled, disabled, static ...)."""
    out = {}
    for u in data:
        path = str(u.get("unit_file", ""))
        name = path.rsplit("/", 1)[-1]
        if name.endswith(".service") and not name.endswith("@.service"):
            out[name.removesuffix(".service")] = str(u.get("state", ""))
    return out


def service_status(unit: dict[str, str] | None, file_state: str | None) -> str:
    """The portal's status words: running, stopped, disabled or unknown."""
    if unit is not None and unit.get("active") == "active":
        return "running"
    if file_state in ("disabled", "masked"):
        return "disabled"
    if unit is None and file_state is None:
        return "unknown"
    return "stopped"
