"""Pure parser for `iw dev IFACE scan dump` (the kernel's cached scan results; nothing is
scanned), in the portal's networking/wifi/networks shape."""

from __future__ import annotations

import re
from typing import Any

_BSS = re.compile(r"^BSS ([0-9a-fA-F:]{17})(?:\(on \S+\))?(.*)$")
_AUTH = (
    ("SAE", "WPA3-Personal"),
    ("802.1X", "WPA2-Enterprise"),
    ("PSK", "WPA2-Personal"),
)
_CIPHERS = (("CCMP", "AES"), ("GCMP", "AES"), ("TKIP", "TKIP"))
_GENERATIONS = (("HE capabilities", "802.11ax"), ("VHT capabilities", "802.11ac"))


def _blocks(text: str) -> list[tuple[str, str, list[str]]]:
    """(bssid, rest of the BSS line, the block's lines) per access point."""
    out: list[tuple[str, str, list[str]]] = []
    for line in text.splitlines():
        match = _BSS.match(line)
        if match:
            out.append((match.group(1).upper(), match.group(2), []))
        elif out:
            out[-1][2].append(line.strip())
    return out


def _field(lines: list[str], name: str) -> str:
    prefix = f"{name}:"
    return next((ln[len(prefix) :].strip() for ln in lines if ln.startswith(prefix)), "")


def _channel(lines: list[str]) -> int | None:
    match = re.search(r"DS Parameter set: channel (\d+)", "\n".join(lines))
    if match:
        return int(match.group(1))
    freq = float(_field(lines, "freq") or 0)
    if 2412 <= freq <= 2472:
        return int((freq - 2407) // 5)
    return int((freq - 5000) // 5) if 5000 < freq < 5900 else None


def _security(lines: list[str]) -> tuple[str, str]:
    """(authentication, cipher): RSN first, then WPA (version 1), then WEP by Privacy."""
    text = "\n".join(lines)
    rsn, wpa = "RSN:" in text, "WPA:" in text
    if rsn or wpa:
        suites = re.findall(r"Authentication suites: (.*)", text)
        auth = next((name for key, name in _AUTH if any(key in s for s in suites)), "Other")
        if not rsn and auth == "WPA2-Personal":
            auth = "WPA-Personal"
        pairwise = " ".join(re.findall(r"Pairwise ciphers: (.*)", text))
        cipher = next((name for key, name in _CIPHERS if key in pairwise), "Other")
        return auth, cipher
    if "Privacy" in _field(lines, "capability"):
        return "WEP", "WEP"
    return "Open", "None"


def _physical(lines: list[str], freq: float) -> str:
    text = "\n".join(lines)
    found = next((name for key, name in _GENERATIONS if key in text), None)
    if found:
        return found
    if "HT capabilities" in text:
        return "802.11n"
    return "802.11a" if freq >= 5000 else "802.11g"


def scan_dump(text: str) -> list[dict[str, Any]]:
    """The networks in range, strongest first; the associated one `alreadyConnected` (and
    the only one known to have a profile: iw knows of no others)."""
    out = []
    for bssid, rest, lines in _blocks(text):
        connected = "associated" in rest
        auth, cipher = _security(lines)
        dbm = float((_field(lines, "signal") or "-100").split()[0])
        freq = float(_field(lines, "freq") or 0)
        ssid = _field(lines, "SSID")
        entry: dict[str, Any] = {
            "alreadyConnected": connected,
            "authenticationAlgorithm": auth,
            "cipherAlgorithm": cipher,
            "connectable": True,
            "infrastructureType": "Adhoc"
            if "IBSS" in _field(lines, "capability")
            else "Infrastructure",
            "profileAvailable": connected,
            "profileName": ssid if connected else "",
            "ssid": ssid,
            "securityEnabled": auth != "Open",
            "signalQuality": max(0, min(100, int(2 * (dbm + 100)))),
            "signalStrength": int(dbm),
            "bssid": bssid,
            "physicalTypes": [_physical(lines, freq)],
        }
        channel = _channel(lines)
        if channel is not None:
            entry["channel"] = channel
        out.append(entry)
    return sorted(out, key=lambda e: -e["signalStrength"])
