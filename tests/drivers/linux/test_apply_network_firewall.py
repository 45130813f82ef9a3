"""Apply on a fake root: what the network and firewall drivers write and run. The live
effect of the same commands is tested in network namespaces (test_netns.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from linux_converge import plan, secrets
from linux_fakehost import TOOLS, FakeMachine

from reconciler.drivers.linux.backend import LinuxBackend
from reconciler.drivers.linux.context import LinuxOptions
from reconciler.drivers.linux.runner import Completed, FakeRunner
from reconciler.errors import DeviceError


def test_the_links_own_mtu_is_not_written_back(backend: LinuxBackend, machine: FakeMachine) -> None:
    """A spec without an MTU leaves the link's (1500, observed) to the host: no MTUBytes."""
    changes = plan(backend, "network", {"interfaces": {"eth1": {"address": "10.92.0.9/24"}}})
    backend.driver("network").apply(changes, secrets)
    unit = machine.read("/etc/systemd/network/10-reconciler-eth1.network")
    assert "Address=10.92.0.9/24" in unit and "MTUBytes" not in unit, unit
    assert not [c for c in backend.host.runner.commands() if " mtu " in c]  # type: ignore[attr-defined]


def test_static_interface_file_and_ip_commands(backend: LinuxBackend, machine: FakeMachine) -> None:
    runner = backend.host.runner
    changes = plan(
        backend,
        "network",
        {"interfaces": {"eth1": {"dhcp": False, "address": "10.92.0.9/24", "mtu": 1400}}},
    )
    backend.driver("network").apply(changes, secrets)
    unit = machine.read("/etc/systemd/network/10-reconciler-eth1.network")
    assert "Name=eth1" in unit and "Address=10.92.0.9/24" in unit and "MTUBytes=1400" in unit
    assert "Gateway=10.92.0.1" in unit and "Metric=200" in unit  # kept from the live route
    commands = runner.commands()  # type: ignore[attr-defined]
    assert "ip link set dev eth1 mtu 1400" in commands
    flush = commands.index("ip -4 addr flush dev eth1 scope global")
    assert commands[flush + 1] == "ip addr add 10.92.0.9/24 dev eth1"
    assert not machine.path("/etc/systemd/network/10-reconciler-eth0.network").exists()


def test_networkmanager_keyfile_when_the_host_runs_it(
    backend: LinuxBackend, machine: FakeMachine
) -> None:
    (machine.root / "run/NetworkManager").mkdir(parents=True)
    changes = plan(backend, "network", {"interfaces": {"eth0": {"mtu": 1450}}})
    backend.driver("network").apply(changes, secrets)
    keyfile = machine.path("/etc/NetworkManager/system-connections/reconciler-eth0.nmconnection")
    assert "interface-name=eth0" in keyfile.read_text() and "mtu=1450" in keyfile.read_text()
    assert keyfile.stat().st_mode & 0o777 == 0o600


def test_route_priority_becomes_metrics(backend: LinuxBackend) -> None:
    runner = backend.host.runner
    changes = plan(backend, "network", {"routePriority": ["eth1", "eth0"]})
    backend.driver("network").apply(changes, secrets)
    commands = runner.commands()  # type: ignore[attr-defined]
    assert "ip route replace default via 10.92.0.1 dev eth1 metric 100" in commands
    assert "ip route replace default via 10.91.0.1 dev eth0 metric 200" in commands
    assert "ip route del default via 10.92.0.1 dev eth1 metric 200" in commands


@pytest.mark.parametrize(
    ("desired", "message"),
    [
        ({"interfaces": {"eth9": {"mtu": 1400}}}, "no interface eth9"),
        ({"interfaces": {"eth0": {"dhcp": True}}}, "DHCP needs networkd running"),
        ({"interfaces": {"eth0": {"gateway": "10.1.1.1"}}}, "outside 10.91.0.0/24"),
        ({"wifi": {"wlan0": {"mode": "client"}}}, "does not manage network.wifi"),
    ],
)
def test_network_refuses_before_touching(
    backend: LinuxBackend, machine: FakeMachine, desired: dict[str, object], message: str
) -> None:
    changes = plan(backend, "network", desired)
    with pytest.raises(DeviceError, match=message):
        backend.driver("network").apply(changes, secrets)
    assert not machine.path("/etc/systemd/network").exists()


def test_dns_in_a_plain_resolv_conf(backend: LinuxBackend, machine: FakeMachine) -> None:
    changes = plan(backend, "network", {"dns": {"primary": "10.0.7.53", "search": ["a.example"]}})
    backend.driver("network").apply(changes, secrets)
    assert plan(backend, "network", {"dns": {"primary": "10.0.7.53"}}) == []
    text = machine.read("/etc/resolv.conf")
    assert "nameserver 10.0.7.53\nnameserver 1.1.1.1\nsearch a.example" in text


def test_dns_through_systemd_resolved(backend: LinuxBackend, machine: FakeMachine) -> None:
    machine.link("/etc/resolv.conf", "../run/systemd/resolve/stub-resolv.conf")
    machine.write("/etc/systemd/resolved.conf", "[Resolve]\n#DNS=\n")
    desired = {"dns": {"enabled": True, "primary": "10.0.7.53", "secondary": "10.0.7.54"}}
    changes = plan(backend, "network", desired)
    backend.driver("network").apply(changes, secrets)
    assert plan(backend, "network", desired) == []
    assert "DNS=10.0.7.53 10.0.7.54" in machine.read(
        "/etc/systemd/resolved.conf.d/50-reconciler.conf"
    )
    assert machine.path("/etc/resolv.conf").is_symlink()


def test_dns_through_systemd_resolved_without_enabled(
    backend: LinuxBackend, machine: FakeMachine
) -> None:
    """Servers alone mean static DNS (issue 16: the observed `enabled: false` turned the
    new drop-in off again and the apply failed with "does not report the change")."""
    machine.link("/etc/resolv.conf", "../run/systemd/resolve/stub-resolv.conf")
    machine.write("/etc/systemd/resolved.conf", "[Resolve]\n#DNS=\n")
    desired = {"dns": {"primary": "10.0.7.53", "secondary": "10.0.7.54"}}
    backend.driver("network").apply(plan(backend, "network", desired), secrets)
    assert plan(backend, "network", desired) == []
    dropin = machine.read("/etc/systemd/resolved.conf.d/50-reconciler.conf")
    assert "DNS=10.0.7.53 10.0.7.54" in dropin


def test_dns_rewrite_keeps_resolv_conf_mode_and_owner(
    backend: LinuxBackend, machine: FakeMachine
) -> None:
    path = machine.path("/etc/resolv.conf")
    owner = (4321, 4322) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    os.chown(path, *owner)
    path.chmod(0o604)
    desired = {"dns": {"primary": "10.0.7.53"}}
    backend.driver("network").apply(plan(backend, "network", desired), secrets)
    assert "nameserver 10.0.7.53" in machine.read("/etc/resolv.conf")
    after = path.lstat()
    assert (after.st_uid, after.st_gid, after.st_mode & 0o7777) == (*owner, 0o604)


FIREWALL = {
    "inbound": [
        {"name": "ssh", "port": 22, "protocol": "tcp"},
        {"name": "modbus", "port": 502, "protocol": "tcp", "source": "10.0.0.0/8"},
    ],
    "forward": [
        {"name": "plc", "port": 8080, "protocol": "tcp", "toAddress": "192.168.1.10", "toPort": 80}
    ],
    "snat": True,
}


def test_firewall_is_checked_then_swapped_atomically(
    backend: LinuxBackend, machine: FakeMachine
) -> None:
    runner = backend.host.runner
    backend.driver("firewall").apply(plan(backend, "firewall", FIREWALL), secrets)
    calls = [(argv, stdin) for argv, stdin in runner.calls if argv[0] == "nft" and "-f" in argv]  # type: ignore[attr-defined]
    assert [argv for argv, _ in calls] == [("nft", "-c", "-f", "-"), ("nft", "-f", "-")]
    script = calls[1][1] or ""
    assert script.startswith("table inet reconciler\ndelete table inet reconciler\n")
    assert 'ip saddr 10.0.0.0/8 tcp dport 502 accept comment "inbound:modbus"' in script
    assert "policy drop;" in script and 'iifname "lo" accept' in script
    assert "dnat ip to 192.168.1.10:80" in script and "masquerade" in script
    assert "ip_forward = 1" in machine.read("/etc/sysctl.d/90-reconciler-forward.conf")
    assert machine.read("/etc/reconciler/nftables.nft").count("table inet reconciler") == 1
    unit = machine.read("/etc/systemd/system/reconciler-firewall.service")
    assert "ExecStart=/usr/sbin/nft -f /etc/reconciler/nftables.nft" in unit
    assert machine.units["reconciler-firewall"]["enabled"] == "enabled"


def test_firewall_rejected_by_nft_check_changes_nothing(
    backend: LinuxBackend, machine: FakeMachine
) -> None:
    runner = backend.host.runner
    handle = machine.handle

    def refuse_check(argv: tuple[str, ...], stdin: str | None) -> Completed | str:
        if argv[:2] == ("nft", "-c"):
            return Completed(argv, 1, "", "Error: syntax error, unexpected junk")
        return handle(argv, stdin)

    runner.handler = refuse_check  # type: ignore[attr-defined]
    with pytest.raises(DeviceError, match="syntax error"):
        backend.driver("firewall").apply(plan(backend, "firewall", FIREWALL), secrets)
    assert ("nft", "-f", "-") not in [argv for argv, _ in runner.calls]  # type: ignore[attr-defined]
    assert not machine.path("/etc/reconciler/nftables.nft").exists()


def test_host_service_without_a_known_port_is_refused(backend: LinuxBackend) -> None:
    desired = {"hostServices": [{"name": "status", "sources": ["10.0.0.0/8"]}]}
    with pytest.raises(DeviceError, match="servicePorts"):
        backend.driver("firewall").apply(plan(backend, "firewall", desired), secrets)


@pytest.mark.parametrize("name", ['a" accept comment "x', "back\\slash", "new\nline", "r" * 130])
def test_a_rule_name_that_would_break_out_of_the_nft_comment_is_refused(
    backend: LinuxBackend, name: str
) -> None:
    """The spec refuses these names; the driver does not rely on it: nothing reaches nft."""
    desired = {"inbound": [{"name": name, "port": 8081, "protocol": "tcp"}]}
    with pytest.raises(DeviceError, match="cannot be an nftables comment"):
        backend.driver("firewall").apply(plan(backend, "firewall", desired), secrets)
    assert not [argv for argv, _ in backend.host.runner.calls if argv[0] == "nft" and "-f" in argv]  # type: ignore[attr-defined]


def test_dhcp_on_a_down_link_does_not_pin_it_down(machine: FakeMachine, tmp_path: Path) -> None:
    """A link nothing has configured yet is down; DHCP on it must not write the observed
    `enabled: false` as ActivationPolicy=always-down (networkd would never bring it up)."""
    eth1 = next(link for link in machine.links if link["ifname"] == "eth1")
    flags = eth1["flags"]
    eth1["flags"] = [f for f in flags if f not in ("UP", "LOWER_UP")]
    (machine.root / "run/systemd/netif/links").mkdir(parents=True)  # networkd runs
    runner = FakeRunner(machine.handle, tools=(*TOOLS, "networkctl"))
    options = LinuxOptions(guard=False)
    backend = LinuxBackend.open(tmp_path / "state", None, root=machine.root, runner=runner,
                                options=options)  # fmt: skip
    changes = plan(backend, "network", {"interfaces": {"eth1": {"dhcp": True}}})
    backend.driver("network").apply(changes, secrets)
    unit = machine.read("/etc/systemd/network/10-reconciler-eth1.network")
    assert "DHCP=ipv4" in unit and "ActivationPolicy" not in unit
    eth1["flags"] = flags  # up now: asking for it down is pinned in the file
    asked = plan(backend, "network", {"interfaces": {"eth1": {"enabled": False}}})
    backend.driver("network").apply(asked, secrets)
    assert "ActivationPolicy=always-down" in machine.read(
        "/etc/systemd/network/10-reconciler-eth1.network"
    )


def test_host_service_source_port_is_a_drop_rule_of_its_own(backend: LinuxBackend) -> None:
    """sourcePort alone restricts only the source port; with sources both must match."""
    runner = backend.host.runner
    desired = {
        "hostServices": [
            {"name": "ssh", "sourcePort": "1024-65535"},
            {"name": "modbus", "sources": ["10.0.0.0/8"], "sourcePort": 40000},
        ]
    }
    backend.driver("firewall").apply(plan(backend, "firewall", desired), secrets)
    script = next(s for argv, s in runner.calls if argv == ("nft", "-f", "-")) or ""  # type: ignore[attr-defined]
    ssh = [line.strip() for line in script.splitlines() if '"hostServices:ssh"' in line]
    assert ssh == ['tcp sport != 1024-65535 tcp dport 22 drop comment "hostServices:ssh"']
    modbus = [line.strip() for line in script.splitlines() if '"hostServices:modbus"' in line]
    assert [line.removesuffix(' comment "hostServices:modbus"') for line in modbus] == [
        "meta nfproto ipv4 ip saddr != { 10.0.0.0/8 } tcp dport 502 drop",
        "meta nfproto ipv6 tcp dport 502 drop",
        "tcp sport != 40000 tcp dport 502 drop",
    ]


DHCP_CLIENT = {
    "hostname": "press-07",
    "sendHostname": True,
    "clientId": "duid",
    "vendorClassId": "AIG-302 reconciler",
    "useDns": False,
}


@pytest.mark.parametrize("renderer", ["networkd", "networkmanager"])
def test_dhcp_client_options_are_written_and_read_back(
    machine: FakeMachine, tmp_path: Path, renderer: str
) -> None:
    running = "run/NetworkManager" if renderer == "networkmanager" else "run/systemd/netif/links"
    (machine.root / running).mkdir(parents=True)
    runner = FakeRunner(machine.handle, tools=(*TOOLS, "networkctl", "nmcli"))
    backend = LinuxBackend.open(tmp_path / "state", None, root=machine.root, runner=runner,
                                options=LinuxOptions(guard=False))  # fmt: skip
    desired = {"interfaces": {"eth1": {"dhcp": True, "dhcpClient": DHCP_CLIENT}}}
    backend.driver("network").apply(plan(backend, "network", desired), secrets)
    if renderer == "networkd":
        text = machine.read("/etc/systemd/network/10-reconciler-eth1.network")
        section = text.split("[DHCPv4]\n")[1]
        for line in ("Hostname=press-07", "SendHostname=yes", "ClientIdentifier=duid",
                     "VendorClassIdentifier=AIG-302 reconciler", "UseDNS=no"):  # fmt: skip
            assert line in section, text
    else:
        text = machine.read("/etc/NetworkManager/system-connections/reconciler-eth1.nmconnection")
        ipv4 = text.split("[ipv4]\n")[1]
        for line in ("method=auto", "dhcp-hostname=press-07", "dhcp-client-id=duid",
                     "dhcp-vendor-class-identifier=AIG-302 reconciler",
                     "ignore-auto-dns=true"):  # fmt: skip
            assert line in ipv4, text
    assert backend.driver("network").observe()["interfaces"]["eth1"]["dhcpClient"] == DHCP_CLIENT
    assert plan(backend, "network", desired) == []
    changed = {"interfaces": {"eth1": {"dhcp": True, "dhcpClient": {"useDns": True}}}}
    backend.driver("network").apply(plan(backend, "network", changed), secrets)
    assert backend.driver("network").observe()["interfaces"]["eth1"]["dhcpClient"] == {
        **DHCP_CLIENT,
        "useDns": True,
    }
