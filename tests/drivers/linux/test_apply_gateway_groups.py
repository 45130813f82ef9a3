"""Apply on a fake root: the gateway doc's system groups that a Debian host has (the
pre-login banner, journald retention, the serial console), gpsd and OpenVPN clients; and
the groups it lacks, refused as unavailable before anything is written."""

from __future__ import annotations

import stat

import pytest
from linux_converge import SECRETS, converge, plan, secrets
from linux_fakehost import FakeMachine

from reconciler.drivers.linux.backend import LinuxBackend
from reconciler.errors import DeviceError, DeviceUnavailable
from reconciler.spec.banner import DEFAULT_TEXT

TEMPLATES = ("serial-getty@.service", "gpsd.service", "openvpn-client@.service")


@pytest.fixture
def units(machine: FakeMachine) -> None:
    """The unit files the packages install (util-linux, gpsd, openvpn)."""
    for name in TEMPLATES:
        machine.write(f"/lib/systemd/system/{name}", "[Unit]\n")


def _commands(backend: LinuxBackend) -> list[str]:
    return backend.host.runner.commands()  # type: ignore[attr-defined]


def test_banner_is_the_pre_login_notice(backend: LinuxBackend, machine: FakeMachine) -> None:
    banner = {"enable": True, "enableDefaultText": False, "userText": "Authorized use only."}
    assert converge(backend, "system", {"banner": banner}) == []
    assert machine.read("/etc/issue.net") == "Authorized use only.\n"
    dropin = machine.read("/etc/ssh/sshd_config.d/20-reconciler-banner.conf")
    assert dropin.endswith("Banner /etc/issue.net\n")
    assert "systemctl try-reload-or-restart ssh.service" in _commands(backend)
    # the default text replaces it; the declared user text is still what plan compares
    default = {**banner, "enableDefaultText": True}
    assert converge(backend, "system", {"banner": default}) == []
    assert machine.read("/etc/issue.net") == DEFAULT_TEXT + "\n"
    off = {**default, "enable": False}
    assert converge(backend, "system", {"banner": off}) == []
    assert "Banner none" in machine.read("/etc/ssh/sshd_config.d/20-reconciler-banner.conf")


def test_system_log_is_journald_retention(backend: LinuxBackend, machine: FakeMachine) -> None:
    log = {
        "desiredDiskCacheSizeMB": 20,
        "enableTimeToLive": True,
        "timeToLiveDay": 3,
        "targetDiskName": "System",
    }
    assert converge(backend, "system", {"systemLog": log}) == []
    text = machine.read("/etc/systemd/journald.conf.d/99-reconciler.conf")
    assert "[Journal]\nSystemMaxUse=20M\nMaxRetentionSec=3day\n" in text
    assert "systemctl restart systemd-journald.service" in _commands(backend)
    off = {**log, "enableTimeToLive": False}
    assert converge(backend, "system", {"systemLog": off}) == []  # the days are remembered
    text = machine.read("/etc/systemd/journald.conf.d/99-reconciler.conf")
    assert "MaxRetentionSec=0\n" in text and "SystemMaxUse=20M" in text


def test_system_log_on_another_disk_is_unavailable(
    backend: LinuxBackend, machine: FakeMachine
) -> None:
    changes = plan(backend, "system", {"systemLog": {"targetDiskName": "USB1"}})
    with pytest.raises(DeviceUnavailable, match="journald writes to the system disk only"):
        backend.driver("system").apply(changes, secrets)
    assert not machine.path("/etc/systemd/journald.conf.d/99-reconciler.conf").exists()


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("auditLog", {"alertThreshold": 90}, "auditd"),
        ("bios", {"enable": False}, "firmware"),
        ("discovery", {"enable": False}, "discovery"),
        ("encryptedStorage", [], "LUKS"),
    ],
)
def test_groups_without_a_debian_counterpart_are_unavailable(
    backend: LinuxBackend, machine: FakeMachine, key: str, value: object, why: str
) -> None:
    changes = plan(backend, "system", {"hostname": "renamed", key: value})
    with pytest.raises(DeviceUnavailable, match=f"system.{key} is not available on linux.*{why}"):
        backend.driver("system").apply(changes, secrets)
    assert machine.read("/etc/hostname") == "gw-01\n"  # refused before anything is written


def test_serial_console_getty(backend: LinuxBackend, machine: FakeMachine, units: None) -> None:
    machine.units["serial-getty@ttyS0"] = {
        "active": "inactive",
        "enabled": "disabled",
        "description": "Serial Getty on ttyS0",
    }
    wants = "/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service"
    assert converge(backend, "system", {"serialConsole": {"enable": True}}) == []
    assert machine.path(wants).readlink().as_posix() == "/lib/systemd/system/serial-getty@.service"
    assert machine.units["serial-getty@ttyS0"]["active"] == "active"
    assert converge(backend, "system", {"serialConsole": {"enable": False}}) == []
    assert not machine.path(wants).is_symlink()
    assert machine.units["serial-getty@ttyS0"]["active"] == "inactive"


def test_gps_mode_drives_gpsd(backend: LinuxBackend, machine: FakeMachine, units: None) -> None:
    machine.write("/etc/default/gpsd", 'DEVICES="/dev/ttyS2"\nGPSD_OPTIONS="-n"\n')
    machine.units["gpsd"] = {"active": "active", "enabled": "enabled", "description": "GPS"}
    manual = {"mode": "manual", "location": {"latitude": 51.2277, "longitude": 6.7735}}
    assert converge(backend, "gps", manual) == []
    defaults = machine.read("/etc/default/gpsd")
    assert 'START_DAEMON="false"' in defaults and 'DEVICES="/dev/ttyS2"' in defaults
    assert machine.units["gpsd"]["active"] == "inactive"
    assert backend.driver("gps").observe() == manual
    assert converge(backend, "gps", {"mode": "auto"}) == []
    assert 'START_DAEMON="true"' in machine.read("/etc/default/gpsd")
    assert "systemctl restart gpsd.service" in _commands(backend)


def test_gps_without_gpsd_is_unavailable(backend: LinuxBackend, machine: FakeMachine) -> None:
    assert backend.driver("gps").observe() == {"mode": "auto"}  # Debian's file as shipped
    machine.path("/etc/default/gpsd").unlink()
    assert backend.driver("gps").observe() is None
    changes = plan(backend, "gps", {"mode": "manual", "location": {"latitude": 1, "longitude": 2}})
    with pytest.raises(DeviceError, match="gpsd is not installed"):
        backend.driver("gps").apply(changes, secrets)


def test_openvpn_client_profile_by_secret(
    backend: LinuxBackend, machine: FakeMachine, units: None
) -> None:
    desired = {"openvpn": [{"name": "site-a", "profile": {"secretRef": "mqtt-password"}}]}
    assert converge(backend, "vpn", desired) == []
    conf = machine.path("/etc/openvpn/client/site-a.conf")
    assert conf.read_text() == SECRETS["mqtt-password"]
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    wants = "/etc/systemd/system/multi-user.target.wants/openvpn-client@site-a.service"
    assert machine.path(wants).is_symlink()
    assert "systemctl restart openvpn-client@site-a.service" in _commands(backend)
    observed = str(backend.driver("vpn").observe())
    assert SECRETS["mqtt-password"] not in observed and "site-a" in observed
    stopped = {"openvpn": [{**desired["openvpn"][0], "enable": False}]}
    assert converge(backend, "vpn", stopped) == []
    assert not machine.path(wants).is_symlink() and conf.exists()
    assert "systemctl stop openvpn-client@site-a.service" in _commands(backend)


def test_openvpn_without_the_package_is_unavailable(
    backend: LinuxBackend, machine: FakeMachine
) -> None:
    changes = plan(
        backend, "vpn", {"openvpn": [{"name": "a", "profile": {"secretRef": "mqtt-password"}}]}
    )
    with pytest.raises(DeviceError, match=r"no unit openvpn-client@a\.service"):
        backend.driver("vpn").apply(changes, secrets)
    assert not machine.path("/etc/openvpn/client/a.conf").exists()


def test_pruned_openvpn_client_is_stopped_and_removed(
    backend: LinuxBackend, machine: FakeMachine, units: None
) -> None:
    from reconciler.engine.planner import plan_changes

    machine.write("/etc/openvpn/client/by-hand.conf", "client\n")  # never created by us
    two = [
        {"name": "site-a", "profile": {"secretRef": "mqtt-password"}},
        {"name": "site-b", "profile": {"secretRef": "monitor-password"}},
    ]
    assert converge(backend, "vpn", {"openvpn": two}) == []
    changes = plan_changes(
        {"vpn": {"prune": True, "openvpn": two[:1]}},
        {"vpn": backend.driver("vpn").observe()},
        secrets=secrets,
        inventory=[("vpn.openvpn", "site-a"), ("vpn.openvpn", "site-b")],
    )
    assert [(c.op, str(c.path[-1])) for c in changes] == [("remove", "[site-b]")]
    backend.driver("vpn").apply(changes, secrets)
    clients = {c["name"] for c in backend.driver("vpn").observe()["openvpn"]}
    assert clients == {"site-a", "by-hand"}
    assert "systemctl stop openvpn-client@site-b.service" in _commands(backend)
