"""What a fake root cannot show (issue 16), checked against a real systemd in the booted
container: the running host name set through systemd-hostnamed, DNS servers taken by
systemd-resolved, commit-confirmed (`apply --confirm`) judged over a real ssh path.
`reconcile` runs inside as in test_systemd_container.py."""

from __future__ import annotations

import json
import subprocess

from linux_container import Container, ssh_path, wait_for
from test_systemd_container import HEAD, RECONCILE, SPEC, STATE, apply, reconcile


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


GUARD = "reconciler.engine.guard"
CLOSED = "  firewall:\n    inbound:\n      - {name: modbus, port: 502, protocol: tcp}\n"
OPEN = "  firewall:\n    inbound:\n      - {name: ssh, port: 22, protocol: tcp}\n"


def ssh_ok(ssh: list[str], *command: str) -> bool:
    return subprocess.run([*ssh, *command], capture_output=True, timeout=60).returncode == 0


def change_status(box: Container) -> list[str]:
    shown = box.run(RECONCILE, "history", "--show", "1", "--state-dir", STATE).stdout
    return [c["status"] for c in json.loads(shown)["changes"] if c["area"] == "firewall"]


def guard_gone(box: Container) -> bool:
    return box.run("pgrep", "-f", GUARD, check=False).returncode == 1


def test_commit_confirmed_reverts_a_lockout(container: Container) -> None:
    """`apply --confirm` of a firewall that drops new ssh connections: new sessions fail,
    nobody can confirm, the guard puts the old firewall back at the end of the window."""
    box = container
    with ssh_path(box) as ssh:
        wait_for("sshd to accept the key", lambda: ssh_ok(ssh, "true"), 30)
        box.write(SPEC, f"{HEAD}spec:\n{CLOSED}")
        argv = [RECONCILE, "apply", "--backend", "linux", "-f", SPEC, "--state-dir", STATE]
        done = box.run(*argv, "--yes", "--force", "--confirm", "10", check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "firewall is reverted at" in done.stdout
        assert not ssh_ok(ssh, "true")  # dropped: a 2 s connect timeout
        wait_for("the guard to end", lambda: guard_gone(box), 60)
        assert ssh_ok(ssh, "true")
        assert change_status(box) == ["reverted"]
        assert "inbound:modbus" not in box.run("nft", "list", "ruleset").stdout


def test_commit_confirmed_over_ssh_keeps_the_change(container: Container) -> None:
    """The firewall keeps ssh open: `reconcile confirm` from a new ssh session keeps it."""
    box = container
    with ssh_path(box) as ssh:
        wait_for("sshd to accept the key", lambda: ssh_ok(ssh, "true"), 30)
        box.write(SPEC, f"{HEAD}spec:\n{OPEN}")
        argv = [RECONCILE, "apply", "--backend", "linux", "-f", SPEC, "--state-dir", STATE]
        done = box.run(*argv, "--yes", "--confirm", "30", check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        confirmed = subprocess.run(
            [*ssh, RECONCILE, "confirm", "--state-dir", STATE],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
        wait_for("the guard to end", lambda: guard_gone(box), 30)
        assert change_status(box) == ["applied"]
        table = box.run("nft", "list", "table", "inet", "reconciler").stdout
        assert 'tcp dport 22 accept comment "inbound:ssh"' in table
        again = reconcile(box, "plan", OPEN)
        assert again.returncode == 0, again.stdout + again.stderr
