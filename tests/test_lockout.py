"""Self-lockout: plans that would lock operators out are refused; --force overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

HEAD = """apiVersion: reconciler/v1
kind: Device
metadata: {name: lock-test, model: UNO-2484G}
spec:
"""


def spec_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "device.yaml"
    path.write_text(HEAD + body)
    return path


# A real sha512-crypt hash (of "x"): the spec accepts only well-formed crypt hashes.
ADMIN_HASH = (
    "$6$k.tIYx5v0iIc.eJ2$sPapum3hZDOM0gs.XBfJ9IEfIkhzF6A3b9hlaxQ1VBMlZ."
    "B/olIJgTG1QpGb2IfFDJSiH2gudhOvu77Un9A7G1"
)

CASES = {
    "last-admin": (
        "  access:\n    users:\n      - {name: admin, enabled: false}\n",
        "no enabled account holding an admin role",
    ),
    "ssh-off": (
        "  access:\n    ssh: {enable: false}\n",
        "disables ssh and no other management path",
    ),
    "ssh-service-stopped": (
        "  services: {ssh: stopped}\n",
        "disables ssh and no other management path",
    ),
    "firewall-drops-ssh": (
        # The factory rule named ssh is edited to another port: nothing lets tcp/22 in.
        "  firewall:\n    inbound:\n"
        "      - {name: ssh, port: 8022, protocol: tcp, source: 10.0.0.0/8}\n",
        "would drop ssh (tcp/22) for every source",
    ),
    "firewall-ssh-range-misses-22": (
        "  firewall:\n    inbound:\n"
        '      - {name: ssh, port: "23-30", protocol: tcp, source: 10.0.0.0/8}\n',
        "would drop ssh (tcp/22) for every source",
    ),
    "firewall-ssh-udp-only": (
        "  firewall:\n    inbound:\n"
        "      - {name: ssh, port: 22, protocol: udp, source: 10.0.0.0/8}\n",
        "would drop ssh (tcp/22) for every source",
    ),
    "firewall-rules-miss-22": (
        "  firewall:\n    inbound:\n"
        "      - {name: ssh, port: 8022, protocol: tcp}\n"
        '      - {name: web, port: "80-21000", protocol: udp}\n'
        "      - {name: modbus, port: 502, protocol: tcp}\n",
        "would drop ssh (tcp/22) for every source",
    ),
    "ssh-port-not-allowed": (
        "  access:\n    ssh: {port: 2222}\n",
        "would drop ssh (tcp/2222) for every source",
    ),
    "default-route": (
        "  network:\n    interfaces:\n"
        + "".join(f"      eth{i}: {{enabled: false}}\n" for i in range(4)),
        "which holds the default route",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_then_forced(case: str, cli, tmp_path: Path, state_dir: Path) -> None:
    body, reason = CASES[case]
    spec = spec_file(tmp_path, body)
    plan = cli("plan", "-f", spec, "--state-dir", state_dir)
    assert plan.code == 1
    assert reason in plan.err and "--force" in plan.err

    refused = cli("apply", "-f", spec, "--state-dir", state_dir, "--yes")
    assert refused.code == 1 and reason in refused.err
    # Refused means untouched: the same plan is still pending.
    assert cli("plan", "-f", spec, "--state-dir", state_dir).code == 1

    forced = cli("plan", "-f", spec, "--state-dir", state_dir, "--force")
    assert forced.code == 2 and "warning: --force given" in forced.err
    applied = cli("apply", "-f", spec, "--state-dir", state_dir, "--yes", "--force")
    assert applied.code == 0, applied.text
    assert cli("plan", "-f", spec, "--state-dir", state_dir).code == 0


@pytest.mark.parametrize(
    "body",
    [
        # Another admin remains.
        "  access:\n    users:\n      - {name: admin, enabled: false}\n"
        "      - {name: ops, roles: [admin], passwordHash: '" + ADMIN_HASH + "'}\n",
        # Telnet is another way in.
        "  access:\n    ssh: {enable: false}\n  services: {telnet: running}\n",
        # ssh stays reachable from the plant network.
        "  firewall:\n    inbound:\n"
        "      - {name: ssh, port: 22, protocol: tcp, source: 10.0.0.0/8}\n",
        # ssh moves, and the firewall follows it.
        "  access:\n    ssh: {port: 2222}\n  firewall:\n    inbound:\n"
        "      - {name: ssh-alt, port: 2222, protocol: tcp}\n",
        # eth1 keeps a route.
        "  network:\n    interfaces:\n      eth0: {enabled: false}\n",
        # A range that covers 22.
        "  firewall:\n    inbound:\n"
        '      - {name: ssh, port: "20-30", protocol: tcp, source: 10.0.0.0/8}\n',
        # One rule of several lets tcp/22 in.
        "  firewall:\n    inbound:\n"
        "      - {name: ssh, port: 8022, protocol: tcp}\n"
        "      - {name: ssh-udp, port: 22, protocol: udp}\n"
        '      - {name: admin, port: "10-25", protocol: tcp}\n',
    ],
    ids=[
        "second-admin",
        "telnet",
        "ssh-allowed",
        "ssh-moved",
        "other-route",
        "ssh-in-range",
        "ssh-in-one-of-several-rules",
    ],
)
def test_safe_variants_are_not_refused(body: str, cli, tmp_path: Path, state_dir: Path) -> None:
    spec = spec_file(tmp_path, body)
    result = cli("plan", "-f", spec, "--state-dir", state_dir)
    assert result.code == 2, result.text
    assert "refusing" not in result.err
