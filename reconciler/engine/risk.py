"""Risk class of a change, by spec path: what could go wrong when it is applied."""

from __future__ import annotations

from reconciler.engine.change import Item, Path, Risk

# (path pattern, risk, why). A pattern matches a path it is a prefix of; `*` is any segment.
# First match wins, so specific rules come before their area's rule.
RULES: tuple[tuple[str, Risk, str], ...] = (
    ("serial.ports.*.mode", "reboot", "the transceiver mode (RS-232/422/485) switches at boot"),
    ("network", "connectivity", "interface, route, DNS and Wi-Fi changes can cut the device off"),
    ("firewall", "connectivity", "firewall rules decide who can still reach the device"),
    ("access.ssh", "connectivity", "the ssh server is how operators get in"),
    ("services.ssh", "connectivity", "the ssh server is how operators get in"),
    ("watchdog", "disruptive", "an armed watchdog resets the device when it is not fed"),
    ("gpio", "disruptive", "outputs may drive wired equipment"),
    ("io", "disruptive", "digital outputs may drive wired equipment"),
    ("serial", "disruptive", "reopens serial ports that field devices are using"),
    ("modbus", "disruptive", "reconfigures the running Modbus service"),
    ("services", "disruptive", "starts or stops a running service"),
)


def _segments(path: Path) -> list[str]:
    return [p.name if isinstance(p, Item) else p for p in path]


def classify(path: Path) -> tuple[Risk, str]:
    """(risk, why) for a change at `path`; ("none", "") when nothing can break."""
    segments = _segments(path)
    for pattern, risk, why in RULES:
        want = pattern.split(".")
        if len(want) <= len(segments) and all(
            w in ("*", s) for w, s in zip(want, segments, strict=False)
        ):
            return risk, why
    return "none", ""
