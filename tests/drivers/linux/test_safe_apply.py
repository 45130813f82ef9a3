"""The engine's safe apply on a fake linux root: firewall, DNS and ssh changes go through
the confirm window and are restored (files byte for byte, live state by the driver) when
the must-reach probe fails, and the revert is in the apply's history. The network case
against a real kernel is in test_netns.py."""

from __future__ import annotations

import sys
from pathlib import Path

from linux_converge import engine_apply
from linux_fakehost import TOOLS, FakeMachine

from reconciler.drivers.linux.backend import LinuxBackend
from reconciler.drivers.linux.context import LinuxOptions
from reconciler.drivers.linux.runner import Completed


def backend_with_probe(machine: FakeMachine, state: Path, reachable: bool) -> LinuxBackend:
    runner = machine.runner()
    runner.tools = (*TOOLS, sys.executable)

    def handle(argv: tuple[str, ...], stdin: str | None) -> Completed | str:
        if argv[0] == sys.executable:  # the reach probe
            return Completed(argv, 0 if reachable else 1, "" if reachable else "10.9.9.9:22\n")
        return machine.handle(argv, stdin)

    runner.handler = handle
    options = LinuxOptions(
        must_reach=("10.9.9.9:22",), confirm_window=0.4, probe_interval=0.1, guard=False
    )
    return LinuxBackend.open(state, None, root=machine.root, runner=runner, options=options)


def test_firewall_is_reverted_when_reach_is_lost(machine: FakeMachine, tmp_path: Path) -> None:
    backend = backend_with_probe(machine, tmp_path / "state", reachable=False)
    desired = {"inbound": [{"name": "web", "port": 443, "protocol": "tcp"}]}
    result, store = engine_apply(backend, "firewall", desired)
    assert result.status == "reverted" and "reverted automatically" in (result.error or "")
    scripts = [s for a, s in backend.host.runner.calls if a == ("nft", "-f", "-")]  # type: ignore[attr-defined]
    assert len(scripts) == 2 and "policy drop" in (scripts[0] or "")
    assert scripts[1] == "table inet reconciler\ndelete table inet reconciler\n"  # was absent
    assert not machine.path("/etc/reconciler/nftables.nft").exists()
    [revert] = store.reverts_of(result.apply_id)
    assert revert["area"] == "firewall" and revert["by"] == "apply"
    assert revert["unreachable"] == ["10.9.9.9:22"]
    assert {c["status"] for c in store.changes_of(result.apply_id)} == {"reverted"}


def test_dns_and_ssh_files_come_back_byte_for_byte(machine: FakeMachine, tmp_path: Path) -> None:
    backend = backend_with_probe(machine, tmp_path / "state", reachable=False)
    before = machine.read("/etc/resolv.conf")
    result, store = engine_apply(backend, "network", {"dns": {"primary": "10.6.6.6"}})
    assert result.status == "reverted"
    assert machine.read("/etc/resolv.conf") == before
    second, _ = engine_apply(backend, "access", {"ssh": {"port": 2200}})
    assert second.status == "reverted"
    assert not machine.path("/etc/ssh/sshd_config.d/10-reconciler.conf").exists()
    areas = [r["area"] for i in (result.apply_id, second.apply_id) for r in store.reverts_of(i)]
    assert areas == ["network", "access"]


def test_a_failing_change_is_restored_too(machine: FakeMachine, tmp_path: Path) -> None:
    backend = backend_with_probe(machine, tmp_path / "state", reachable=True)
    machine.fail.add("sysctl")
    desired = {
        "forward": [{"name": "plc", "port": 8080, "protocol": "tcp", "toAddress": "192.168.1.10"}]
    }
    result, store = engine_apply(backend, "firewall", desired)
    assert result.status == "reverted"
    assert "configuration was restored" in (result.error or "")
    assert not machine.path("/etc/sysctl.d/90-reconciler-forward.conf").exists()
    [revert] = store.reverts_of(result.apply_id)
    assert revert["reason"].startswith("the change failed")


def test_confirmed_changes_and_other_access_changes_pass_through(
    machine: FakeMachine, tmp_path: Path
) -> None:
    backend = backend_with_probe(machine, tmp_path / "state", reachable=True)
    result, store = engine_apply(backend, "access", {"ssh": {"port": 2200}})
    assert result.status == "applied"
    assert "Port 2200" in machine.read("/etc/ssh/sshd_config.d/10-reconciler.conf")
    unreachable = backend_with_probe(machine, tmp_path / "state2", reachable=False)
    users = {"users": [{"name": "ops", "description": "Ops"}]}
    other, store2 = engine_apply(unreachable, "access", users)  # not risky: no window, no probe
    assert other.status == "applied"
    assert store.reverts_of(result.apply_id) == [] and store2.reverts_of(other.apply_id) == []


def test_stopping_ssh_is_reverted_when_reach_is_lost(machine: FakeMachine, tmp_path: Path) -> None:
    """services.ssh is a connectivity change: stopped, then started again on lost reach."""
    backend = backend_with_probe(machine, tmp_path / "state", reachable=False)
    result, store = engine_apply(backend, "services", {"ssh": "stopped"})
    assert result.status == "reverted"
    assert machine.units["ssh"]["active"] == "active"
    calls = [a for a, _ in backend.host.runner.calls if a[:1] == ("systemctl",)]  # type: ignore[attr-defined]
    assert ("systemctl", "stop", "ssh.service") in calls
    assert calls.index(("systemctl", "start", "ssh.service")) > calls.index(
        ("systemctl", "stop", "ssh.service")
    )
    [revert] = store.reverts_of(result.apply_id)
    assert revert["area"] == "services"
