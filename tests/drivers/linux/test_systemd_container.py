"""The linux backend against a real systemd: `reconcile apply --backend linux` runs inside a
booted Debian container (systemd-nspawn, linux_container.py) and the container's own tools
(systemctl, ip, nft) check the result; a second plan finds nothing left to do."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from pathlib import Path

from linux_container import Container, dhcp_server, wait_for

RECONCILE = str(Path(sys.prefix) / "bin" / "reconcile")
STATE = "/var/lib/reconciler-test"
SPEC = "/root/device.yaml"
HEAD = "apiVersion: reconciler/v1\nkind: Device\nmetadata: {name: rt-box, model: UNO-2484G}\n"


def reconcile(box: Container, command: str, spec: str) -> subprocess.CompletedProcess[str]:
    box.write(SPEC, f"{HEAD}spec:\n{spec}")
    argv = [RECONCILE, command, "--backend", "linux", "-f", SPEC, "--state-dir", STATE]
    return box.run(*argv, *(["--yes"] if command == "apply" else []), check=False)


def apply(box: Container, spec: str) -> None:
    done = reconcile(box, "apply", spec)
    assert done.returncode == 0, done.stdout + done.stderr
    again = reconcile(box, "plan", spec)
    assert again.returncode == 0, f"a second plan is not empty:\n{again.stdout}{again.stderr}"


def unit(box: Container, verb: str, name: str) -> str:
    return box.run("systemctl", verb, name, check=False).stdout.strip()


def test_services_started_and_stopped(container: Container) -> None:
    box = container
    box.write(
        "/etc/systemd/system/rt-demo.service",
        "[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n",
    )
    box.run("systemctl", "enable", "--now", "rt-demo.service")
    box.run("systemctl", "disable", "--now", "ssh.service")
    spec = "  services: {ssh: running, rt-demo: stopped, telnet: stopped}\n"
    assert reconcile(box, "plan", spec).returncode == 2
    apply(box, spec)
    assert (unit(box, "is-active", "ssh"), unit(box, "is-enabled", "ssh")) == ("active", "enabled")
    assert unit(box, "is-active", "rt-demo") == "inactive"
    assert unit(box, "is-enabled", "rt-demo") == "disabled"


WATCHDOG_SYSFS = {
    "identity": "Software Watchdog",
    "state": "inactive",
    "timeout": "60",
    "min_timeout": "1",
    "max_timeout": "65535",
    "nowayout": "0",
}


def test_watchdog_reaches_systemd(container: Container) -> None:
    """The kernels CI runs on have no watchdog device (no softdog, no modules), so the
    container gets the sysfs attributes softdog would show. Real: the driver's drop-in and
    daemon-reexec make PID 1 take RuntimeWatchdogSec. Not real: systemd cannot open
    /dev/watchdog0, so the stand-in never turns active and the engine's check after the
    apply reports exactly that (exit 1), as it would for a device that refused to arm."""
    box = container
    box.run("mount", "-t", "tmpfs", "tmpfs", "/sys/class/watchdog")
    box.run("mkdir", "/sys/class/watchdog/watchdog0")
    for name, value in WATCHDOG_SYSFS.items():
        box.write(f"/sys/class/watchdog/watchdog0/{name}", value + "\n")
    before = box.run("systemctl", "show", "-p", "RuntimeWatchdogUSec").stdout
    assert before.strip() == "RuntimeWatchdogUSec=0"
    done = reconcile(box, "apply", "  watchdog: {enabled: true, timeoutSeconds: 30}\n")
    shown = box.run("systemctl", "show", "-p", "RuntimeWatchdogUSec", "-p", "WatchdogDevice")
    assert shown.stdout.split() == ["WatchdogDevice=/dev/watchdog0", "RuntimeWatchdogUSec=30s"]
    assert done.returncode == 1, done.stdout + done.stderr
    assert "watchdog.enabled: the device does not report the change" in done.stderr


def lease(box: Container) -> str | None:
    links = json.loads(box.run("ip", "-j", "-4", "addr", "show", "dev", "eth0").stdout)
    for info in (a for link in links for a in link.get("addr_info", [])):
        if info.get("dynamic") and ipaddress.ip_address(info["local"]) in LEASES:
            return str(info["local"])
    return None


LEASES = ipaddress.ip_network("10.99.0.0/24")


def test_networkd_dhcp_lease(container: Container) -> None:
    box = container
    box.run("ip", "link", "set", "host0", "name", "eth0")  # the model's interface names
    box.run("systemctl", "enable", "--now", "systemd-networkd.service")
    with dhcp_server(box, "10.99.0"):
        assert lease(box) is None
        spec = "  network:\n    interfaces:\n      eth0: {dhcp: true}\n"
        done = reconcile(box, "apply", spec)
        assert done.returncode == 0, done.stdout + done.stderr
        address = str(wait_for("a DHCP lease on eth0", lambda: lease(box)))
        assert 50 <= int(address.rsplit(".", 1)[1]) <= 99
        again = reconcile(box, "plan", spec)
        assert again.returncode == 0, again.stdout + again.stderr
        networkd = box.run("networkctl", "status", "eth0", "--no-pager").stdout
        assert "10-reconciler-eth0.network" in networkd


def test_firewall_table_loaded_at_boot(container: Container) -> None:
    box = container
    spec = (
        "  firewall:\n    inbound:\n"
        "      - {name: ssh, port: 22, protocol: tcp, source: 10.0.0.0/8}\n"
        "      - {name: modbus, port: 502, protocol: tcp, source: 10.0.7.0/24}\n"
    )
    apply(box, spec)
    box.poweroff()
    box.boot()
    assert unit(box, "is-enabled", "reconciler-firewall") == "enabled"
    assert unit(box, "is-active", "reconciler-firewall") == "active"
    table = box.run("nft", "list", "table", "inet", "reconciler").stdout
    assert "policy drop" in table
    assert 'ip saddr 10.0.0.0/8 tcp dport 22 accept comment "inbound:ssh"' in table
    assert 'ip saddr 10.0.7.0/24 tcp dport 502 accept comment "inbound:modbus"' in table
    again = reconcile(box, "plan", spec)
    assert again.returncode == 0, again.stdout + again.stderr
