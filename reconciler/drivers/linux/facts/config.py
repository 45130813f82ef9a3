"""Pure parsers for /etc configuration formats: resolv.conf, KEY=VALUE files, systemd-style
INI units, sshd_config, apt.conf, and `key = value` files (pwquality)."""

from __future__ import annotations

import re
import shlex
from typing import Any


def resolv_conf(text: str) -> dict[str, Any]:
    servers: list[str] = []
    search: list[str] = []
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            servers.append(parts[1])
        elif parts and parts[0] in ("search", "domain"):
            search = parts[1:]
    return {"nameservers": servers, "search": search}


def env_file(text: str) -> dict[str, str]:
    """KEY=VALUE lines with shell quoting (os-release, machine-info)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        try:
            words = shlex.split(value)
        except ValueError:
            words = [value.strip("\"'")]
        out[key.strip()] = " ".join(words)
    return out


def ini(text: str) -> dict[str, dict[str, list[str]]]:
    """systemd-style INI (also NetworkManager keyfiles): section -> key -> values in order
    (keys may repeat, like Address= or DNS=)."""
    out: dict[str, dict[str, list[str]]] = {}
    section: dict[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = out.setdefault(line[1:-1].strip(), {})
            continue
        if section is None or "=" not in line:
            continue
        key, _, value = line.partition("=")
        section.setdefault(key.strip(), []).append(value.strip())
    return out


def merged_ini(texts: list[str]) -> dict[str, dict[str, list[str]]]:
    """A unit and its drop-ins in order: a later file's key replaces the earlier values; an
    empty assignment (`DNS=`) resets the list."""
    out: dict[str, dict[str, list[str]]] = {}
    for text in texts:
        for name, keys in ini(text).items():
            section = out.setdefault(name, {})
            for key, values in keys.items():
                kept: list[str] = []
                for value in values:
                    kept = [] if value == "" else [*kept, value]
                section[key] = kept
    return out


def sshd_config(texts: list[str]) -> dict[str, str]:
    """sshd keywords (lower case) -> value; the first value wins, as in sshd. Match blocks
    end the global section."""
    out: dict[str, str] = {}
    for text in texts:
        for line in text.splitlines():
            parts = line.split("#", 1)[0].strip().split(None, 1)
            if len(parts) < 2:
                continue
            key = parts[0].lower()
            if key == "match":
                break
            out.setdefault(key, parts[1].strip().strip('"'))
    return out


_APT = re.compile(r'^\s*([A-Za-z0-9:_.-]+)\s+"([^"]*)"\s*;', re.MULTILINE)


def apt_conf(texts: list[str]) -> dict[str, str]:
    """Scalar apt.conf settings (`APT::Periodic::Unattended-Upgrade "1";`); later files win."""
    out: dict[str, str] = {}
    for text in texts:
        text = re.sub(r"//[^\n]*", "", text)
        for key, value in _APT.findall(text):
            out[key] = value
    return out


def key_values(texts: list[str]) -> dict[str, str]:
    """`key = value` lines (pwquality.conf, faillock.conf); later files win."""
    out: dict[str, str] = {}
    for text in texts:
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            key, sep, value = line.partition("=")
            out[key.strip()] = value.strip() if sep else ""
    return out
