"""Pure parsers for account databases: passwd, group, shadow, login.defs, authorized_keys."""

from __future__ import annotations

from typing import Any


def _rows(text: str, fields: int) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) >= fields:
            rows.append(parts)
    return rows


def passwd(text: str) -> list[dict[str, Any]]:
    return [
        {
            "name": p[0],
            "uid": int(p[2]),
            "gid": int(p[3]),
            "gecos": p[4],
            "home": p[5],
            "shell": p[6],
        }
        for p in _rows(text, 7)
        if p[2].isdigit() and p[3].isdigit()
    ]


def group(text: str) -> list[dict[str, Any]]:
    return [
        {"name": p[0], "gid": int(p[2]), "members": [m for m in p[3].split(",") if m]}
        for p in _rows(text, 4)
        if p[2].isdigit()
    ]


def shadow(text: str) -> dict[str, dict[str, Any]]:
    """By user: the crypt hash (None when there is no password), locked (`!` prefix) and the
    account expiry day (days since 1970; 1 disables the account)."""
    out: dict[str, dict[str, Any]] = {}
    for p in _rows(text, 8):
        field = p[1]
        locked = field.startswith("!")
        bare = field.lstrip("!")
        out[p[0]] = {
            "passwordHash": bare if bare.startswith("$") else None,
            "locked": locked,
            "expireDay": int(p[7]) if p[7].isdigit() else None,
        }
    return out


def login_defs(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and not parts[0].startswith("#"):
            out[parts[0]] = parts[1]
    return out


def authorized_keys(text: str) -> list[str]:
    """Key lines, comments and blanks dropped, whitespace normalised."""
    return [
        " ".join(line.split())
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
