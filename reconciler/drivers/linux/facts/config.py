"""Pure parsers for /etc configuration formats: resolv.conf, KEY=VALUE files, systemd-style
INI units, sshd_config, apt.conf, and `key = value` files (pwquality)."""

from __future__ import annotations

import re
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
        words = _shell_words(value)
        out[key.strip()] = " ".join(words if words is not None else [value.strip("\"'")])
    return out


_SHELL_PIECE = re.compile(r"""'([^']*)'|"((?:[^"\\]|\\.)*)"|\\(.)|(\s+)|([^\s'"\\]+)""", re.S)


def _shell_words(value: str) -> list[str] | None:
    """Words of a shell-quoted value as sh and systemd read them: '...' literal, "..." with
    backslash escaping only $ ` " \\ (shlex would keep the backslash of \\$), None when a
    quote is left open."""
    words: list[str] = []
    word: str | None = None
    pos = 0
    for match in _SHELL_PIECE.finditer(value):
        if match.start() != pos:
            return None
        pos = match.end()
        single, double, escaped, space, plain = match.groups()
        if space is not None:
            if word is not None:
                words.append(word)
            word = None
            continue
        if double is not None:
            piece = re.sub(r'\\([$`"\\\n])', r"\1", double)
        else:
            piece = single if single is not None else escaped if escaped is not None else plain
        word = (word or "") + piece
    if pos != len(value):
        return None
    return [*words, word] if word is not None else words


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
