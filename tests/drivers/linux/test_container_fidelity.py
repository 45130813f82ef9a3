"""What a fake root cannot show (issue 16), checked against a real systemd in the booted
container: the running host name set through systemd-hostnamed, DNS servers taken by
systemd-resolved. `reconcile` runs inside as in test_systemd_container.py."""

from __future__ import annotations

from linux_container import Container, wait_for
from test_systemd_container import apply, reconcile


def test_hostname_drift_from_the_running_name(container: Container) -> None:
    """/etc/hostname already names the spec's host but the kernel runs under another
    name: a change to plan, made by hostnamectl (dbus, systemd-hostnamed) in both."""
    box = container
    box.write("/etc/hostname", "rt-gw\n")
    box.run("hostname", "old-name")
    spec = "  system: {hostname: rt-gw}\n"
    planned = reconcile(box, "plan", spec)
    assert planned.returncode == 2, planned.stdout + planned.stderr
    assert "system.hostname" in planned.stdout, planned.stdout
    assert "rt-gw (running as old-name)" in planned.stdout, planned.stdout
    apply(box, spec)
    assert box.run("hostname").stdout.strip() == "rt-gw"
    assert box.run("cat", "/etc/hostname").stdout == "rt-gw\n"
    assert box.run("hostnamectl", "hostname").stdout.strip() == "rt-gw"


def test_dns_through_systemd_resolved_without_enabled(container: Container) -> None:
    """Servers alone (no `enabled: true`) are static DNS: the drop-in reaches resolved,
    which reports exactly them; nothing is left to do afterwards."""
    box = container
    box.run("systemctl", "enable", "--now", "systemd-resolved.service")
    box.run("ln", "-sfn", "../run/systemd/resolve/stub-resolv.conf", "/etc/resolv.conf")
    spec = "  network:\n    dns: {primary: 10.0.0.53, secondary: 10.0.0.54}\n"
    planned = reconcile(box, "plan", spec)
    assert planned.returncode == 2, planned.stdout + planned.stderr
    apply(box, spec)

    def global_dns() -> list[str]:
        shown = box.run("resolvectl", "dns").stdout.splitlines()
        return next((line.split()[1:] for line in shown if line.startswith("Global:")), [])

    wait_for(
        "resolved to report the servers", lambda: global_dns() == ["10.0.0.53", "10.0.0.54"], 30
    )
    assert box.run("readlink", "/etc/resolv.conf").stdout.strip().endswith("stub-resolv.conf")
