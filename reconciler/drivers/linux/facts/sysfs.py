"""Pure parsers for sysfs class trees, given as {relative path: file content}: hwmon, LEDs,
watchdog, legacy GPIO, tty."""

from __future__ import annotations

import re
from typing import Any

Tree = dict[str, str]

_HWMON = re.compile(r"^(temp|in|curr|fan)(\d+)_input$")
_KINDS = {
    "temp": ("temperature", "Celsius", 1000, 1),
    "in": ("voltage", "Volt", 1000, 3),
    "curr": ("current", "A", 1000, 3),
    "fan": ("fanspeed", "RPM", 1, 0),
}


def _chips(tree: Tree) -> dict[str, dict[str, str]]:
    chips: dict[str, dict[str, str]] = {}
    for path, value in tree.items():
        chip, _, attr = path.partition("/")
        if attr and "/" not in attr:
            chips.setdefault(chip, {})[attr] = value
    return chips


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def hwmon(tree: Tree) -> dict[str, list[dict[str, Any]]]:
    """Readings in the platform portal's hwmon shape (millidegrees, millivolts and milliamps
    converted); a sensor is named by its label, else `chip sensor`."""
    out: dict[str, list[dict[str, Any]]] = {
        "temperature": [],
        "voltage": [],
        "current": [],
        "fanspeed": [],
    }
    for chip_dir, attrs in sorted(_chips(tree).items(), key=lambda kv: _natural(kv[0])):
        chip = attrs.get("name", chip_dir)
        for attr in sorted(attrs, key=_natural):
            m = _HWMON.match(attr)
            raw = _number(attrs[attr]) if m else None
            if m is None or raw is None:
                continue
            prefix, index = m.groups()
            kind, unit, scale, digits = _KINDS[prefix]
            label = attrs.get(f"{prefix}{index}_label") or f"{chip} {prefix}{index}"
            value = round(raw / scale, digits)
            out[kind].append(
                {
                    "name": label,
                    "value": int(value) if digits == 0 else value,
                    "unit": unit,
                    "chip": chip,
                }
            )
    return out


def _natural(text: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text)]


def leds(tree: Tree) -> list[dict[str, Any]]:
    """LEDs by sysfs name with brightness, maximum and the active trigger."""
    out = []
    for name, attrs in sorted(_chips(tree).items()):
        if "brightness" not in attrs:
            continue
        trigger = re.search(r"\[([^\]]+)\]", attrs.get("trigger", ""))
        out.append(
            {
                "name": name,
                "brightness": int(attrs["brightness"] or 0),
                "maxBrightness": int(attrs.get("max_brightness") or 1),
                "trigger": trigger.group(1) if trigger else "none",
            }
        )
    return out


def _digits(attrs: dict[str, str]) -> Any:
    def num(key: str) -> int | None:
        value = attrs.get(key, "")
        return int(value) if value.isdigit() else None

    return num


def watchdogs(tree: Tree) -> list[dict[str, Any]]:
    """Watchdog devices: identity, state, timeout and its bounds (absent bounds: None)."""
    out = []
    for name, attrs in sorted(_chips(tree).items(), key=lambda kv: _natural(kv[0])):
        if "identity" not in attrs and "timeout" not in attrs:
            continue
        num = _digits(attrs)
        out.append(
            {
                "device": name,
                "identity": attrs.get("identity", ""),
                "active": attrs.get("state") == "active",
                "timeout": num("timeout"),
                "minTimeout": num("min_timeout"),
                "maxTimeout": num("max_timeout"),
                "timeLeft": num("timeleft"),
                "nowayout": attrs.get("nowayout") == "1",
            }
        )
    return out


def gpio_sysfs(tree: Tree) -> dict[str, Any]:
    """/sys/class/gpio: chips (base, ngpio, label) and exported lines by global number."""
    chips, lines = [], {}
    for name, attrs in sorted(_chips(tree).items(), key=lambda kv: _natural(kv[0])):
        if name.startswith("gpiochip") and "base" in attrs:
            chips.append(
                {
                    "name": name,
                    "base": int(attrs["base"]),
                    "ngpio": int(attrs.get("ngpio") or 0),
                    "label": attrs.get("label", ""),
                }
            )
        elif re.fullmatch(r"gpio\d+", name) and "direction" in attrs:
            lines[name[4:]] = {
                "direction": "output" if attrs["direction"] in ("out", "high", "low") else "input",
                "level": "high" if attrs.get("value") == "1" else "low",
            }
    return {"chips": chips, "lines": lines}


_SERIAL = re.compile(r"^tty(S|USB|ACM|AMA|mxc|XRUSB|O)\d+$")


def serial_ports(tree: Tree) -> list[dict[str, Any]]:
    """Real serial ports under /sys/class/tty: a ttyS* with UART type 0 has no hardware."""
    out = []
    for name, attrs in sorted(_chips(tree).items(), key=lambda kv: _natural(kv[0])):
        if not _SERIAL.match(name):
            continue
        if name.startswith("ttyS") and attrs.get("type", "0") == "0":
            continue
        out.append({"name": name, "uartType": int(attrs["type"]) if "type" in attrs else None})
    return out
