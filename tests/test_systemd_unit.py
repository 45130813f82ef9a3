"""The example systemd unit: `systemd-analyze verify` accepts it, every capability it keeps
names the area that needs it, the relaxations the areas need are there (home directories
and authorized_keys, /sys for gpio/leds, the devices), and its exposure score is printed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from testkit import REPO, need_tool, reconcile_cmd

UNIT = REPO / "examples" / "systemd" / "reconciler-agent.service"
INSTALLED = "/opt/reconciler/.venv/bin/reconcile"
AREAS = ("network", "firewall", "access", "modbus", "gpio", "leds", "watchdog", "serial")


def _settings() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", " ")):
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


def _local_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this checkout's entry point (verify checks that
    the binary exists)."""
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(INSTALLED, reconcile_cmd()[0]))
    return unit


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    analyze = need_tool("systemd-analyze", "systemd")
    result = subprocess.run(
        [analyze, "verify", str(_local_copy(tmp_path))], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    # verify only warns (exit 0) on unknown keys or bad values: any output is a finding.
    assert result.stdout + result.stderr == ""


def test_every_capability_is_explained_by_an_area() -> None:
    text = UNIT.read_text()
    (caps,) = _settings()["CapabilityBoundingSet"]
    assert "CAP_SYS_ADMIN" not in caps.split()
    for cap in caps.split():
        comment = re.search(rf"^#\s+{cap}\s+(.+(?:\n#\s{{10,}}.+)*)", text, re.M)
        assert comment, f"{cap} has no comment saying which area needs it"
        assert any(area in comment.group(1) for area in AREAS), comment.group(0)


def test_areas_can_write_what_they_must() -> None:
    settings = _settings()
    assert settings["ProtectHome"] == ["no"]  # access: useradd -m, authorized_keys
    writable = " ".join(settings["ReadWritePaths"]).split()
    assert {"/etc", "/home", "/root"} <= set(writable)
    assert settings["ProtectKernelTunables"] == ["no"]  # gpio, leds, forwarding
    allowed = {v.split()[0] for v in settings["DeviceAllow"]}
    assert {"char-watchdog", "char-gpiochip", "char-ttyS"} <= allowed
    families = settings["RestrictAddressFamilies"][0].split()
    assert {"AF_UNIX", "AF_NETLINK", "AF_INET", "AF_INET6"} <= set(families)


def test_security_exposure_is_below_the_old_units(tmp_path: Path) -> None:
    analyze = need_tool("systemd-analyze", "systemd")
    result = subprocess.run(
        [analyze, "security", "--offline=true", str(_local_copy(tmp_path))],
        capture_output=True,
        text=True,
    )
    score = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert score, result.stdout + result.stderr
    print(f"systemd-analyze security: {score.group(1)}")
    assert float(score.group(1)) < 4.5  # the unit that kept CAP_SYS_ADMIN rated 4.5
