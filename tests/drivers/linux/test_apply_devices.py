"""Apply on a fake root: watchdog, GPIO, LEDs, serial (a real pty), services, update
policy, and the agent-hosted areas. The fake machine plays the kernel's side."""

from __future__ import annotations

import termios
from typing import Any

import pytest
from linux_converge import converge, plan, secrets
from linux_fakehost import FakeMachine

from reconciler.drivers.linux.backend import LinuxBackend
from reconciler.engine.credentials import fingerprint
from reconciler.errors import DeviceError


def test_watchdog_through_runtime_watchdog_sec(backend: LinuxBackend, machine: FakeMachine) -> None:
    assert converge(backend, "watchdog", {"enabled": True, "timeoutSeconds": 60}) == []
    dropin = machine.read("/etc/systemd/system.conf.d/50-reconciler-watchdog.conf")
    assert "RuntimeWatchdogSec=60s" in dropin and "WatchdogDevice=/dev/watchdog0" in dropin
    assert converge(backend, "watchdog", {"enabled": False}) == []
    assert machine.read("/sys/class/watchdog/watchdog0/state") == "inactive"


def test_watchdog_timeout_outside_the_device_range(backend: LinuxBackend) -> None:
    with pytest.raises(DeviceError, match=r"outside 2\.\.613"):
        backend.driver("watchdog").apply(
            plan(backend, "watchdog", {"timeoutSeconds": 900}), secrets
        )


def test_gpio_through_sysfs(backend: LinuxBackend, machine: FakeMachine) -> None:
    desired = {
        "pins": {
            "17": {"direction": "output", "level": "low"},
            "18": {"direction": "output", "level": "high"},
        }
    }
    backend.driver("gpio").apply(plan(backend, "gpio", desired), secrets)
    assert machine.read("/sys/class/gpio/gpio529/direction") == "low"  # one glitch-free write
    machine.kernel()
    assert plan(backend, "gpio", desired) == []


def test_gpio_exports_a_line_first(backend: LinuxBackend, machine: FakeMachine) -> None:
    desired = {"pins": {"3": {"direction": "output", "level": "high"}}}
    driver = backend.driver("gpio")
    machine.write("/sys/class/gpio/export", "")
    with pytest.raises(DeviceError, match="line 515"):  # no kernel behind the fake export
        driver.apply(plan(backend, "gpio", desired), secrets)
    assert machine.read("/sys/class/gpio/export") == "515"


def test_gpio_refuses_unknown_pins_and_input_levels(backend: LinuxBackend) -> None:
    with pytest.raises(DeviceError, match="no GPIO pin 99"):
        backend.driver("gpio").apply(
            plan(backend, "gpio", {"pins": {"99": {"direction": "input"}}}), secrets
        )
    changes = plan(backend, "gpio", {"pins": {"0": {"level": "high"}}})
    with pytest.raises(DeviceError, match="input pin 0"):
        backend.driver("gpio").apply(changes, secrets)


def test_leds(backend: LinuxBackend, machine: FakeMachine) -> None:
    assert converge(backend, "leds", {"1": "on", "2": "off"}) == []
    assert machine.read("/sys/class/leds/user:green:run/trigger") == "none"
    assert machine.read("/sys/class/leds/user:green:run/brightness") == "255"
    with pytest.raises(DeviceError, match="no LED 7"):
        backend.driver("leds").apply(plan(backend, "leds", {"7": "on"}), secrets)


def test_serial_line_settings_on_a_real_tty(backend: LinuxBackend) -> None:
    desired = {"ports": {"1": {"baudRate": 9600, "stopBits": 2, "flowControl": "none"}}}
    assert converge(backend, "serial", desired) == []
    # a pty has no RS-485: asking for it fails clearly and names the port
    changes = plan(backend, "serial", {"ports": {"1": {"mode": "rs485-2w"}}})
    with pytest.raises(DeviceError, match="no RS-485 support"):
        backend.driver("serial").apply(changes, secrets)
    with pytest.raises(DeviceError, match="RS-422"):
        backend.driver("serial").apply(
            plan(backend, "serial", {"ports": {"1": {"mode": "rs422"}}}), secrets
        )


def test_serial_translation_keeps_raw_mode() -> None:
    from reconciler.drivers.linux.facts import serialline

    attrs = [0, 0, termios.CS8 | termios.B9600, 0, termios.B9600, termios.B9600, []]
    new = serialline.attributes(attrs, {"parity": "even", "dataBits": 7, "baudRate": 19200})
    assert serialline.settings(new[:6], None) == {
        "mode": "rs232",
        "baudRate": 19200,
        "parity": "even",
        "dataBits": 7,
        "stopBits": 1,
        "flowControl": "none",
    }
    assert serialline.rs485_flags("rs485-4w", 0) & serialline.SER_RS485_RX_DURING_TX


def test_services(backend: LinuxBackend, machine: FakeMachine) -> None:
    assert (
        converge(backend, "services", {"rsync": "running", "cron": "stopped", "telnet": "stopped"})
        == []
    )
    assert machine.units["rsync"] == {
        "active": "active",
        "enabled": "enabled",
        "description": "rsync",
    }
    assert machine.units["cron"]["enabled"] == "disabled"
    with pytest.raises(DeviceError, match="no service ghost"):
        backend.driver("services").apply(plan(backend, "services", {"ghost": "running"}), secrets)


def test_update_policy(backend: LinuxBackend, machine: FakeMachine) -> None:
    desired = {"allowUpdate": True, "allowReboot": True, "autoScan": "30 3 * * 1,3"}
    assert converge(backend, "update", desired) == []
    assert "OnCalendar=Mon,Wed *-*-* 3:30:00" in machine.read(
        "/etc/systemd/system/apt-daily.timer.d/50-reconciler.conf"
    )
    assert converge(backend, "update", {"autoScan": False, "allowUpdate": False}) == []
    with pytest.raises(DeviceError, match="MINUTE HOUR"):
        backend.driver("update").apply(
            plan(backend, "update", {"autoScan": "*/5 * * * *"}), secrets
        )
    with pytest.raises(DeviceError, match=r"does not manage update\.maintenanceWindow"):
        changes = plan(
            backend, "update", {"maintenanceWindow": {"cron": "0 2 * * 0", "durationMinutes": 60}}
        )
        backend.driver("update").apply(changes, secrets)


def test_agent_hosted_areas_are_stored_with_fingerprints(backend: LinuxBackend) -> None:
    desired = {"mqtt": {"host": "broker.example", "password": {"secretRef": "mqtt-password"}}}
    assert converge(backend, "cloud", desired) == []
    stored = backend.driver("cloud").observe()
    assert stored["mqtt"]["password"] == fingerprint("mqtt-Secret-99")


def test_uplink_will_and_cloud_clients_are_stored_and_converge(backend: LinuxBackend) -> None:
    will = {"topic": "plants/a/gw/lwt", "payload": "gone", "qos": 1, "retain": True}
    desired: dict[str, Any] = {"mqtt": {"host": "broker.example", "willMessage": will}}
    assert converge(backend, "cloud", desired) == []
    assert backend.driver("cloud").observe()["mqtt"]["willMessage"] == will
    hub = {"name": "hub", "azureDevice": {"connectionString": {"secretRef": "mqtt-password"}}}
    aws = {
        "name": "aws",
        "enable": False,
        "aws": {
            "endpoint": "abc-ats.iot.eu-west-1.amazonaws.com",
            "thingName": "gw-1",
            "certificate": {
                "clientCert": {"secretRef": "mqtt-password"},
                "clientKey": {"secretRef": "mqtt-password"},
            },
        },
    }
    assert converge(backend, "cloud", {**desired, "clients": [hub, aws]}) == []
    stored = backend.driver("cloud").observe()["clients"]
    assert [c["name"] for c in stored] == ["hub", "aws"]
    assert stored[0]["azureDevice"]["connectionString"] == fingerprint("mqtt-Secret-99")
    assert "mqtt-Secret-99" not in str(stored)
    hub["enable"] = False
    assert converge(backend, "cloud", {**desired, "clients": [hub, aws]}) == []
    assert backend.driver("cloud").observe()["clients"][0]["enable"] is False
    node = {"groupId": "g", "nodeId": "n", "brokers": [{"name": "b", "host": "h", "port": 1883}]}
    spb = {"name": "spb", "sparkplug": node}
    assert converge(backend, "cloud", {**desired, "clients": [hub, aws, spb]}) == []
    assert backend.driver("cloud").observe()["clients"][2]["sparkplug"]["groupId"] == "g"


def test_areas_without_a_linux_driver_say_so(backend: LinuxBackend) -> None:
    with pytest.raises(DeviceError, match="does not manage io"):
        backend.driver("io").apply(plan(backend, "io", {"do": {"1": {"state": "on"}}}), secrets)


def test_update_settings_win_over_99local_and_name_a_later_override(
    backend: LinuxBackend, machine: FakeMachine
) -> None:
    machine.write("/etc/apt/apt.conf.d/99local", 'APT::Periodic::Unattended-Upgrade "0";\n')
    machine.write("/etc/apt/apt.conf.d/52reconciler", "// written by an earlier version\n")
    assert converge(backend, "update", {"allowUpdate": True}) == []  # ours sorts after 99local
    assert not machine.path("/etc/apt/apt.conf.d/52reconciler").exists()
    machine.write("/etc/apt/apt.conf.d/99zz-site", 'APT::Periodic::Unattended-Upgrade "0";\n')
    changes = plan(backend, "update", {"allowUpdate": False, "allowReboot": True})
    with pytest.raises(DeviceError, match=r"apt\.conf\.d/99zz-site sets .*Unattended-Upgrade"):
        backend.driver("update").apply(changes, secrets)
