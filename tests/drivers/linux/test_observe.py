"""Observe on a fake root: every area reads the right files and commands, and an area the
host lacks is reported as unavailable instead of failing the whole observe."""

from __future__ import annotations

from pathlib import Path

from linux_fakehost import ED25519, FakeMachine

from reconciler.drivers.linux.backend import LinuxBackend
from reconciler.drivers.linux.context import LinuxOptions


def test_config_areas(backend: LinuxBackend) -> None:
    seen = backend.observe()
    assert seen["system"] == {
        "hostname": "gw-01",
        "description": "Line 7 gateway",
        "timezone": "Etc/UTC",
        "ntp": ["0.debian.pool.ntp.org"],
        # sshd shows no banner; journald as shipped; no serial getty enabled
        "banner": {"enable": False, "enableDefaultText": False, "userText": ""},
        "systemLog": {"enableTimeToLive": False, "targetDiskName": "System"},
        "serialConsole": {"enable": False},
    }
    assert seen["gps"] == {"mode": "auto"}  # Debian's /etc/default/gpsd starts the daemon
    assert seen["vpn"] == {"openvpn": []}
    net = seen["network"]
    assert net["interfaces"]["eth0"] == {
        "enabled": True,
        "dhcp": False,
        "mtu": 1500,
        "address": "10.91.0.2/24",
        "gateway": "10.91.0.1",
        "metric": 100,
    }
    assert net["routePriority"] == ["eth0", "eth1"]
    assert net["dns"] == {
        "enabled": True,
        "primary": "10.0.0.53",
        "secondary": "1.1.1.1",
        "search": ["plant-a.example"],
    }
    assert seen["firewall"] == {}
    ops = seen["access"]["users"][0]
    assert ops["name"] == "ops" and ops["roles"] == ["admin"] and ops["enabled"] is True
    assert ops["sshAuthorizedKeys"] == [ED25519] and ops["passwordHash"] == "$6$salt$hash"
    assert seen["access"]["ssh"] == {"port": 22, "passwordAuthentication": True, "enable": True}
    assert seen["watchdog"] == {
        "enabled": True,
        "type": "iTCO_wdt",
        "timeoutSeconds": 30,
        "timeoutMinInSeconds": 2,
        "timeoutMaxInSeconds": 613,
    }
    assert seen["gpio"]["pins"]["17"] == {"direction": "output", "level": "high"}
    assert seen["leds"] == {"0": "off", "1": "off", "2": "on"}
    assert seen["serial"]["ports"]["1"]["mode"] == "rs232"
    assert seen["services"] == {"ssh": "running", "cron": "running", "rsync": "stopped"}
    assert seen["update"] == {"allowUpdate": True, "allowReboot": False}
    assert "unavailable" not in seen


def test_telemetry(backend: LinuxBackend) -> None:
    seen = backend.observe_all()
    assert seen["system"]["memoryPercent"] == 25.0
    assert seen["host"]["platform"] == "Debian GNU/Linux 12 (bookworm)"
    assert seen["hwmon"]["voltage"][0] == {
        "name": "Vcore",
        "value": 0.92,
        "unit": "Volt",
        "chip": "nct6775",
    }
    sda = seen["disks"][0]
    assert sda["name"] == "/dev/sda" and sda["model"] == "SQF-S25M4-64G-S9C"
    assert [(p["device"], p["mountPoint"]) for p in sda["partitions"]] == [("/dev/sda1", "/")]
    assert [d["name"] for d in seen["disks"]] == ["/dev/sda"]  # loop devices are left out
    eth0 = next(i for i in seen["networkInterfaces"] if i["name"] == "eth0")
    assert eth0["isDefault"] and eth0["gateway"] == ["10.91.0.1"]
    assert "iocounters" in eth0
    init = seen["processes"][0]
    assert init["name"] == "systemd" and init["username"] == "root"
    assert {s["name"]: s["status"] for s in seen["systemServices"]}["rsync"] == "disabled"


def test_areas_the_host_lacks_say_so(tmp_path: Path) -> None:
    bare = FakeMachine(tmp_path / "root", sysfs=False, systemd=False)
    backend = LinuxBackend.open(tmp_path / "state", None, root=bare.root, runner=bare.runner())
    seen = backend.observe_all()
    missing = seen["unavailable"]
    assert "no watchdog device" in missing["watchdog"]
    assert "no GPIO chip" in missing["gpio"]
    assert "no LEDs" in missing["leds"]
    assert "systemd is not running" in missing["services"]
    assert "no hardware-monitor sensors" in missing["hwmon"]
    assert "watchdog" not in seen and "system" in seen
    assert backend.profile.gpio_pins == 0 and not backend.profile.has_watchdog()


def test_a_missing_tool_is_reported_not_raised(tmp_path: Path) -> None:
    machine = FakeMachine(tmp_path / "root")
    runner = machine.runner()
    runner.tools = ("ip", "systemctl")
    options = LinuxOptions(guard=False)
    backend = LinuxBackend.open(tmp_path / "s", "UNO-2484G", machine.root, runner, options)
    seen = backend.observe()
    assert seen["unavailable"]["firewall"] == "nft is not installed on this host"
    assert backend.profile.model == "UNO-2484G"
