"""The network and firewall drivers against real kernels: network namespaces joined by
veth pairs, created and deleted by each test (root only; skipped with the reason
elsewhere). Files go to a temp root, commands run inside the device's namespace."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from linux_converge import engine_apply, plan, secrets
from linux_netns import Lab, connects, lab, namespaces_usable, sh

from reconciler.drivers.linux.backend import LinuxBackend
from reconciler.drivers.linux.context import LinuxOptions
from reconciler.drivers.linux.runner import SubprocessRunner
from reconciler.engine.change import Plan
from reconciler.engine.planner import make_plan
from reconciler.engine.safe import PENDING, SafeApply
from reconciler.engine.store import Store
from reconciler.output import Painter, plan_text

REASON = namespaces_usable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")


@pytest.fixture
def net() -> Lab:  # type: ignore[misc]
    with lab() as current:
        yield current


def device(tmp_path: Path, ns: str, **options: object) -> LinuxBackend:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc/resolv.conf").write_text("nameserver 10.0.0.53\n")
    opts = LinuxOptions(**{"guard": False, **options})  # type: ignore[arg-type]
    return LinuxBackend.open(tmp_path / "state", None, root, SubprocessRunner.in_netns(ns), opts)


def test_static_interface_is_configured_live(net: Lab, tmp_path: Path) -> None:
    dev, peer = net.ns("dev"), net.ns("peer")
    net.veth(dev, "eth0", None, peer, "up0", "10.80.0.1/24")
    net.serve(peer, "10.80.0.1", 8080)
    backend = device(tmp_path, dev)
    assert not connects(dev, "10.80.0.1", 8080)
    desired = {
        "interfaces": {
            "eth0": {"dhcp": False, "address": "10.80.0.2/24", "gateway": "10.80.0.1", "mtu": 1400}
        }
    }
    backend.driver("network").apply(plan(backend, "network", desired), secrets)
    assert plan(backend, "network", desired) == []
    assert connects(dev, "10.80.0.1", 8080)
    assert (
        "Address=10.80.0.2/24"
        in (tmp_path / "root/etc/systemd/network/10-reconciler-eth0.network").read_text()
    )
    down = {"interfaces": {"eth0": {"enabled": False}}}
    backend.driver("network").apply(plan(backend, "network", down), secrets)
    assert backend.driver("network").observe()["interfaces"]["eth0"]["enabled"] is False
    assert not connects(dev, "10.80.0.1", 8080)


def test_route_priority_moves_the_default_route(net: Lab, tmp_path: Path) -> None:
    dev, peer = net.ns("dev"), net.ns("peer")
    net.veth(dev, "eth0", "10.81.0.2/24", peer, "up0", "10.81.0.1/24")
    net.veth(dev, "eth1", "10.82.0.2/24", peer, "up1", "10.82.0.1/24")
    sh("ip", "route", "add", "default", "via", "10.81.0.1", "metric", "100", ns=dev)
    sh("ip", "route", "add", "default", "via", "10.82.0.1", "metric", "200", ns=dev)
    sh("ip", "addr", "add", "10.99.0.1/32", "dev", "lo", ns=peer)
    backend = device(tmp_path, dev)
    assert backend.driver("network").observe()["routePriority"] == ["eth0", "eth1"]
    assert "dev eth0" in sh("ip", "route", "get", "10.99.0.1", ns=dev).stdout

    backend.driver("network").apply(
        plan(backend, "network", {"routePriority": ["eth1", "eth0"]}), secrets
    )
    assert plan(backend, "network", {"routePriority": ["eth1", "eth0"]}) == []
    assert "dev eth1" in sh("ip", "route", "get", "10.99.0.1", ns=dev).stdout
    routes = json.loads(sh("ip", "-j", "route", "show", "default", ns=dev).stdout)
    assert sorted((r["dev"], r["metric"]) for r in routes) == [("eth0", 200), ("eth1", 100)]


def test_nftables_table_filters_and_leaves_other_tables(net: Lab, tmp_path: Path) -> None:
    dev, peer = net.ns("dev"), net.ns("peer")
    net.veth(dev, "eth0", "10.83.0.2/24", peer, "up0", "10.83.0.1/24")
    net.serve(dev, "10.83.0.2", 8502)
    net.serve(dev, "10.83.0.2", 8503)
    sh(
        "nft",
        "add table inet other; add chain inet other keep { type filter hook input "
        "priority 10; policy accept; }",
        ns=dev,
    )
    backend = device(tmp_path, dev)
    assert connects(peer, "10.83.0.2", 8503)

    desired = {"inbound": [{"name": "modbus", "port": 8502, "protocol": "tcp"}], "snat": True}
    backend.driver("firewall").apply(plan(backend, "firewall", desired), secrets)
    assert plan(backend, "firewall", desired) == []
    assert connects(peer, "10.83.0.2", 8502)
    assert not connects(peer, "10.83.0.2", 8503, timeout=0.5)
    tables = sh("nft", "list", "tables", ns=dev).stdout
    assert "table inet other" in tables and "table inet reconciler" in tables

    narrowed = {
        "inbound": [{"name": "modbus", "port": 8502, "protocol": "tcp", "source": "10.200.0.0/16"}]
    }
    backend.driver("firewall").apply(plan(backend, "firewall", narrowed), secrets)
    assert not connects(peer, "10.83.0.2", 8502, timeout=0.5)
    assert backend.driver("firewall").observe()["inbound"][0]["source"] == "10.200.0.0/16"


def test_a_rule_name_with_spaces_round_trips_through_nftables(net: Lab, tmp_path: Path) -> None:
    """The gateway doc's sample rule name has spaces: the real nft takes it as one quoted
    comment, observe reads the same name back, and the next plan is empty."""
    dev, peer = net.ns("dev"), net.ns("peer")
    net.veth(dev, "eth0", "10.84.0.2/24", peer, "up0", "10.84.0.1/24")
    net.serve(dev, "10.84.0.2", 8081)
    backend = device(tmp_path, dev)
    desired = {"inbound": [{"name": "open listen port 8081", "port": 8081, "protocol": "tcp"}]}
    backend.driver("firewall").apply(plan(backend, "firewall", desired), secrets)
    assert plan(backend, "firewall", desired) == []
    assert backend.driver("firewall").observe()["inbound"][0]["name"] == "open listen port 8081"
    table = sh("nft", "list", "table", "inet", "reconciler", ns=dev).stdout
    assert 'comment "inbound:open listen port 8081"' in table
    assert connects(peer, "10.84.0.2", 8081)


def test_host_service_source_port_is_enforced_and_observed(net: Lab, tmp_path: Path) -> None:
    """firewall-core-zone sourcePort: clients from other source ports are dropped; the
    table reads back as the spec wrote it, so the next plan is empty."""
    dev, peer = net.ns("dev"), net.ns("peer")
    net.veth(dev, "eth0", "10.86.0.2/24", peer, "up0", "10.86.0.1/24")
    net.serve(dev, "10.86.0.2", 8502)
    backend = device(tmp_path, dev, service_ports={"modbus": 8502})
    desired = {
        "hostServices": [
            {"name": "modbus", "sources": ["10.86.0.0/24"], "sourcePort": "40000-40099"}
        ]
    }
    backend.driver("firewall").apply(plan(backend, "firewall", desired), secrets)
    assert plan(backend, "firewall", desired) == []
    assert connects(peer, "10.86.0.2", 8502, source_port=40001)
    assert not connects(peer, "10.86.0.2", 8502, timeout=0.5, source_port=41001)
    other_port = {"hostServices": [{"name": "modbus", "sourcePort": 40100}]}  # sources kept
    backend.driver("firewall").apply(plan(backend, "firewall", other_port), secrets)
    assert backend.driver("firewall").observe()["hostServices"] == [
        {"name": "modbus", "sources": ["10.86.0.0/24"], "sourcePort": 40100}
    ]
    assert connects(peer, "10.86.0.2", 8502, source_port=40100)
    assert not connects(peer, "10.86.0.2", 8502, timeout=0.5, source_port=40002)


def _revert_lab(net: Lab) -> str:
    dev, peer = net.ns("dev"), net.ns("peer")
    net.veth(dev, "eth0", "10.84.0.2/24", peer, "up0", "10.84.0.1/24")
    net.serve(peer, "10.84.0.1", 8765)
    assert connects(dev, "10.84.0.1", 8765)
    return dev


CUT = {"interfaces": {"eth0": {"dhcp": False, "address": "10.85.0.2/24"}}}


def test_a_change_that_cuts_the_path_is_reverted(net: Lab, tmp_path: Path) -> None:
    dev = _revert_lab(net)
    backend = device(
        tmp_path, dev, must_reach=("10.84.0.1:8765",), confirm_window=6.0, probe_interval=0.5
    )
    result, store = engine_apply(backend, "network", CUT)
    assert result.status == "reverted" and "reverted automatically" in (result.error or "")
    assert "10.84.0.1:8765" in (result.error or "")
    assert backend.driver("network").observe()["interfaces"]["eth0"]["address"] == "10.84.0.2/24"
    assert connects(dev, "10.84.0.1", 8765)
    assert not (tmp_path / "root/etc/systemd/network/10-reconciler-eth0.network").exists()
    [record] = store.reverts_of(result.apply_id)
    assert record["area"] == "network" and record["unreachable"] == ["10.84.0.1:8765"]
    assert not list((tmp_path / "state" / PENDING).iterdir())


def test_a_change_that_keeps_the_path_is_confirmed(net: Lab, tmp_path: Path) -> None:
    dev = _revert_lab(net)
    backend = device(tmp_path, dev, must_reach=("10.84.0.1:8765",), confirm_window=6.0)
    keep = {"interfaces": {"eth0": {"mtu": 1300}}}
    result, store = engine_apply(backend, "network", keep)
    assert result.status == "applied"
    assert backend.driver("network").observe()["interfaces"]["eth0"]["mtu"] == 1300
    assert store.reverts_of(result.apply_id) == []


def test_the_guard_reverts_when_the_applying_process_is_gone(net: Lab, tmp_path: Path) -> None:
    """The apply process dies after the change: the detached guard restores at the end of
    the window on its own and records the revert in that apply's history."""
    dev = _revert_lab(net)
    backend = device(tmp_path, dev, must_reach=("10.84.0.1:8765",), guard=True)
    changes = plan(backend, "network", CUT)
    store = Store(tmp_path / "state")
    apply_id = store.begin(Plan("dev", "linux", tuple(changes)), "test", {})
    safe = SafeApply(backend, store, apply_id, backend.safe_apply_options())
    driver = backend.driver("network")
    safe.arm("network", driver.checkpoint(changes), time.time() + 2.0)  # type: ignore[attr-defined]
    driver.apply(changes, secrets)  # the change, then this "process" never confirms
    assert not connects(dev, "10.84.0.1", 8765, timeout=0.5)
    deadline = time.monotonic() + 30
    while not store.reverts_of(apply_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    [record] = store.reverts_of(apply_id)
    assert record["by"] == "guard"
    assert connects(dev, "10.84.0.1", 8765)
    assert {c["status"] for c in store.changes_of(apply_id)} == {"reverted"}


def test_a_rule_added_by_hand_to_the_owned_table_is_planned_and_removed(
    net: Lab, tmp_path: Path
) -> None:
    """Issue 16: the reconciler's table is exactly what the spec says. A hand-added rule in
    it opens a port the spec does not: plan shows it, apply removes it; a rule in another
    table is neither reported nor touched."""
    dev, peer = net.ns("dev"), net.ns("peer")
    net.veth(dev, "eth0", "10.86.0.2/24", peer, "up0", "10.86.0.1/24")
    net.serve(dev, "10.86.0.2", 8502)
    net.serve(dev, "10.86.0.2", 2323)
    net.serve(peer, "10.86.0.1", 8765)
    backend = device(tmp_path, dev, must_reach=("10.86.0.1:8765",), confirm_window=6.0)
    desired = {"inbound": [{"name": "modbus", "port": 8502, "protocol": "tcp"}]}
    backend.driver("firewall").apply(plan(backend, "firewall", desired), secrets)
    assert plan(backend, "firewall", desired) == []
    assert not connects(peer, "10.86.0.2", 2323, timeout=0.5)

    sh("nft", "add rule inet reconciler input tcp dport 2323 accept", ns=dev)
    sh(
        "nft",
        "add table inet other; add chain inet other keep { type filter hook input "
        "priority 10; policy accept; }; add rule inet other keep tcp dport 2424 accept",
        ns=dev,
    )
    assert connects(peer, "10.86.0.2", 2323)  # the hand rule opened the port

    observed = {"firewall": backend.driver("firewall").observe()}
    [line] = observed["firewall"]["unmanaged"]
    assert line.startswith("rule input: tcp dport 2323 accept (handle ")
    shown = make_plan("dev", "linux", {"firewall": desired}, observed, secrets=secrets)
    [change] = shown.as_dict()["changes"]
    assert (change["path"], change["op"], change["before"]) == (
        "firewall.unmanaged",
        "remove",
        [line],
    )
    assert f"        - {line}\n" in plan_text(shown, Painter(False))

    result, _ = engine_apply(backend, "firewall", desired)
    assert result.status == "applied", result.error
    table = sh("nft", "-j", "list", "table", "inet", "reconciler", ns=dev).stdout
    assert '"dport"' in table and "2323" not in table
    assert not connects(peer, "10.86.0.2", 2323, timeout=0.5)
    assert connects(peer, "10.86.0.2", 8502)
    assert plan(backend, "firewall", desired) == []
    assert "unmanaged" not in backend.driver("firewall").observe()
    other = sh("nft", "list", "table", "inet", "other", ns=dev).stdout
    assert "tcp dport 2424 accept" in other
