"""Safe apply on a fake root: firewall, DNS and ssh changes go through the confirm window
and are restored (files byte for byte, live state by the driver) when the must-reach
probe fails. The network case against a real kernel is in test_netns.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from linux_converge import plan, secrets
from linux_fakehost import TOOLS, FakeMachine

from reconciler.drivers.linux.backend import LinuxBackend
from reconciler.drivers.linux.context import LinuxOptions
from reconciler.drivers.linux.runner import Completed
from reconciler.drivers.linux.safe import reverts
from reconciler.errors import DeviceError


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
    with pytest.raises(DeviceError, match="reverted automatically"):
        backend.driver("firewall").apply(plan(backend, "firewall", desired), secrets)
    scripts = [s for a, s in backend.host.runner.calls if a == ("nft", "-f", "-")]  # type: ignore[attr-defined]
    assert len(scripts) == 2 and "policy drop" in (scripts[0] or "")
    assert scripts[1] == "table inet reconciler\ndelete table inet reconciler\n"  # was absent
    assert not machine.path("/etc/reconciler/nftables.nft").exists()
    assert [r["area"] for r in reverts(tmp_path / "state")] == ["firewall"]


def test_dns_and_ssh_files_come_back_byte_for_byte(machine: FakeMachine, tmp_path: Path) -> None:
    backend = backend_with_probe(machine, tmp_path / "state", reachable=False)
    before = machine.read("/etc/resolv.conf")
    with pytest.raises(DeviceError, match="reverted"):
        changes = plan(backend, "network", {"dns": {"primary": "10.6.6.6"}})
        backend.driver("network").apply(changes, secrets)
    assert machine.read("/etc/resolv.conf") == before
    with pytest.raises(DeviceError, match="reverted"):
        backend.driver("access").apply(plan(backend, "access", {"ssh": {"port": 2200}}), secrets)
    assert not machine.path("/etc/ssh/sshd_config.d/10-reconciler.conf").exists()
    assert [r["area"] for r in reverts(tmp_path / "state")] == ["network", "access"]


def test_a_failing_change_is_restored_too(machine: FakeMachine, tmp_path: Path) -> None:
    backend = backend_with_probe(machine, tmp_path / "state", reachable=True)
    machine.fail.add("sysctl")
    desired = {
        "forward": [{"name": "plc", "port": 8080, "protocol": "tcp", "toAddress": "192.168.1.10"}]
    }
    with pytest.raises(DeviceError, match="configuration was restored"):
        backend.driver("firewall").apply(plan(backend, "firewall", desired), secrets)
    assert not machine.path("/etc/sysctl.d/90-reconciler-forward.conf").exists()


def test_confirmed_changes_and_other_access_changes_pass_through(
    machine: FakeMachine, tmp_path: Path
) -> None:
    backend = backend_with_probe(machine, tmp_path / "state", reachable=True)
    backend.driver("access").apply(plan(backend, "access", {"ssh": {"port": 2200}}), secrets)
    assert "Port 2200" in machine.read("/etc/ssh/sshd_config.d/10-reconciler.conf")
    unreachable = backend_with_probe(machine, tmp_path / "state2", reachable=False)
    changes = plan(unreachable, "access", {"users": [{"name": "ops", "description": "Ops"}]})
    unreachable.driver("access").apply(changes, secrets)  # not risky: no window, no probe
    assert reverts(tmp_path / "state") == [] and reverts(tmp_path / "state2") == []
