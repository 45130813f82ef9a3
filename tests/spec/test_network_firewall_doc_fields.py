"""The gateway doc's ethernets `dhcpClient` and firewall-core-zone `sourcePort`: located
errors, and a plan/apply on sim that converges."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testkit import HEADER, one_problem, validate

ETH = "network:\n  interfaces:\n    eth0:\n"  # keys of eth0 start on line 8


def test_dhcp_client_and_source_port_load() -> None:
    result = validate("""\
        network:
          interfaces:
            eth0:
              dhcp: true
              dhcpClient: {hostname: press-07, clientId: mac, vendorClassId: "AIG 302",
                           useDns: false, sendHostname: true}
        firewall:
          hostServices:
            - {name: modbus, sourcePort: 1024-65535}
            - {name: ssh, sources: [10.0.0.0/8], sourcePort: 22}
        """)  # fmt: skip
    assert result.problems == []


@pytest.mark.parametrize(
    ("body", "line", "token", "path", "fragment"),
    [
        (ETH + "      dhcp: true\n      dhcpClient: {clientId: hwaddr}\n", 9, "hwaddr",
         "spec.network.interfaces.eth0.dhcpClient.clientId", "'mac' or 'duid'"),
        (ETH + "      dhcp: true\n      dhcpClient: {vendorClassId: ''}\n", 9, "''",
         "spec.network.interfaces.eth0.dhcpClient.vendorClassId", "should match pattern"),
        (ETH + "      dhcp: true\n      dhcpClient: {hostname: -bad}\n", 9, "-bad",
         "spec.network.interfaces.eth0.dhcpClient.hostname", "invalid host name label"),
        (ETH + "      dhcp: true\n      dhcpClient: {usedns: true}\n", 9, "usedns",
         "spec.network.interfaces.eth0.dhcpClient.usedns", "did you mean 'useDns'"),
        (ETH + "      dhcp: false\n      address: 10.0.0.2/24\n      dhcpClient: {useDns: true}\n",
         10, "{useDns", "spec.network.interfaces.eth0.dhcpClient", "need dhcp: true on eth0"),
        (ETH + "      dhcp: true\n      dhcpClient: {hostname: a, sendHostname: false}\n", 9,
         "a,", "spec.network.interfaces.eth0.dhcpClient.hostname", "never sent"),
        ("firewall:\n  hostServices:\n    - {name: ssh, sourcePort: 0}\n", 7, "0}",
         "spec.firewall.hostServices.0.sourcePort", "port 0 is outside 1..65535"),
        ("firewall:\n  hostServices:\n    - {name: ssh, sourcePort: 22-x}\n", 7, "22-x",
         "spec.firewall.hostServices.0.sourcePort", "a range like 502-505"),
    ],
)  # fmt: skip
def test_problem_is_located(body: str, line: int, token: str, path: str, fragment: str) -> None:
    one_problem(body).at(0, line, token, path, fragment)


def test_sim_plans_and_applies_them(cli: Callable[..., Any], tmp_path: Path) -> None:
    spec = tmp_path / "gw.yaml"
    spec.write_text(HEADER % "AIG-302" + """\
  network:
    interfaces:
      eth0: {dhcp: true, dhcpClient: {hostname: press-07, useDns: false}}
  firewall:
    hostServices:
      - {name: modbus, sourcePort: 1024-65535}
""")  # fmt: skip
    args = ("--file", spec, "--state-dir", tmp_path / "state")
    planned = cli("plan", *args)
    assert planned.code == 2, planned.text
    assert "+ network.interfaces.eth0.dhcpClient" in planned.out
    assert "+ firewall.hostServices[modbus]" in planned.out
    assert cli("apply", *args, "--yes").code == 0
    again = cli("plan", *args)
    assert again.code == 0, again.text
