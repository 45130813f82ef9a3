"""network: schema ranges, cross-field checks and model capabilities, located in the YAML."""

from __future__ import annotations

import pytest
from testkit import one_problem, validate

VALID = """\
network:
  interfaces:
    eth0: {dhcp: false, address: 10.0.7.20/24, gateway: 10.0.7.1, mtu: 1500, enabled: true}
    eth1: {dhcp: true, wan: true}
  routePriority: [eth0, wlan0, eth1]
  dns: {primary: 10.0.0.53, secondary: 1.1.1.1, search: [plant-a.example]}
  checkAlive: {enabled: true, target: www.example.com, interval: 120, timeout: 10, retry: 5}
  wifi:
    wlan0:
      mode: client
      country: DE
      networks:
        - {ssid: plant-a, psk: {secretRef: plant-a-wifi}}
        - {ssid: guest, security: open, priority: 1}
  cellular:
    wwan0:
      enabled: true
      apn: internet.example
      pin: {secretRef: sim-pin}
      authType: chap
      username: gw
      password: {secretRef: apn-password}
      checkAlive: {enabled: true, target: 8.8.8.8, interval: 300, timeout: 5, retry: 3}
      profileTimeout: 180
      fallbackProfiles: [{name: backup, apn: backup.example, authType: none}]
"""


def test_design_example_is_valid() -> None:
    result = validate(VALID)
    assert result.problems == []
    assert result.spec is not None and result.spec.spec.network is not None
    net = result.spec.spec.network
    assert net.interfaces is not None and net.interfaces["eth0"].address == "10.0.7.20/24"
    assert net.route_priority == ["eth0", "wlan0", "eth1"]
    dumped = result.spec.model_dump(exclude_unset=True, by_alias=True)["spec"]["network"]
    assert dumped["cellular"]["wwan0"]["checkAlive"]["target"] == "8.8.8.8"
    assert dumped["wifi"]["wlan0"]["networks"][0]["psk"] == {"secretRef": "plant-a-wifi"}


def test_access_point_with_dhcp_pool_is_valid() -> None:
    result = validate(
        """\
        network:
          interfaces:
            wlan0: {dhcp: false, address: 192.168.50.1/24}
          wifi:
            wlan0:
              mode: ap
              ap:
                ssid: press-line-07
                psk: {secretRef: ap-psk}
                band: band50
                channel: 36
                dhcpServer: {enabled: true, start: 192.168.50.100, end: 192.168.50.200}
        """,
        "UNO-2484G",
    )
    assert result.problems == []


@pytest.mark.parametrize(
    ("iface", "token", "key", "fragment"),
    [
        ("{dhcp: true, address: 10.0.0.2/24}", "10.0", "address", "uses DHCP; remove address"),
        ("{dhcp: false}", "false", "dhcp", "dhcp: false needs a static address"),
        ("{address: 10.0.0.2/24}", "10.0", "address", "a static address needs dhcp: false"),
        (
            "{dhcp: false, address: 10.0.7.20/24, gateway: 10.0.8.1}",
            "10.0.8.1",
            "gateway",
            "gateway 10.0.8.1 is outside eth0's subnet 10.0.7.0/24",
        ),
        (
            "{dhcp: false, address: 10.0.7.20/24, gateway: 10.0.7.20}",
            "10.0.7.20}",
            "gateway",
            "is eth0's own address",
        ),
        (
            "{dhcp: false, address: 10.0.7.0/24}",
            "10.0",
            "address",
            "10.0.7.0 is the network address of 10.0.7.0/24",
        ),
        (
            "{dhcp: false, address: 10.0.7.255/24}",
            "10.0",
            "address",
            "is the broadcast address",
        ),
        ("{dhcp: false, address: 10.0.7.20}", "10.0", "address", "needs a prefix length"),
        ("{dhcp: false, address: 'fd00::2/64'}", "'fd00", "address", "is not an IPv4 address"),
        ("{gateway: 10.0.0.1}", "10.0", "gateway", "a gateway needs a static address"),
        ("{dhcp: true, mtu: 10000}", "10000", "mtu", "less than or equal to 9000"),
        ("{dhcp: true, speed: 100}", "speed", "speed", "unknown field 'speed'"),
    ],
)
def test_interface_problems(iface: str, token: str, key: str, fragment: str) -> None:
    result = one_problem(f"network:\n  interfaces:\n    eth0: {iface}\n")
    result.at(0, 7, token, f"spec.network.interfaces.eth0.{key}", fragment)


def test_bad_interface_name() -> None:
    result = one_problem("network:\n  interfaces:\n    e: {dhcp: true}\n")
    problem = result.problems[0]
    assert (problem.line, problem.col) == (7, result.lines[6].index("e:") + 1)
    assert problem.path.startswith("spec.network.interfaces.e")
    assert "invalid interface name 'e'" in problem.message


def test_overlapping_subnets_point_at_the_second_interface() -> None:
    result = one_problem(
        """\
        network:
          interfaces:
            eth0: {dhcp: false, address: 10.0.7.20/24}
            eth1: {dhcp: false, address: 10.0.7.30/25}
        """
    )
    result.at(0, 8, "10.0.7.30", "spec.network.interfaces.eth1.address", "overlaps eth0's subnet")


@pytest.mark.parametrize(
    ("body", "model", "token", "path", "fragment"),
    [
        (
            "network:\n  interfaces:\n    eth7: {dhcp: true}\n",
            "AIG-302",
            "{dhcp",
            "spec.network.interfaces.eth7",
            "AIG-302 has no interface eth7 (it has eth0, eth1, wlan0)",
        ),
        (
            "network:\n  interfaces:\n    wwan0: {dhcp: true}\n",
            "AIG-302",
            "{dhcp",
            "spec.network.interfaces.wwan0",
            "wwan0 is a cellular interface: configure it under network.cellular",
        ),
        (
            "network:\n  wifi:\n    wlan1: {mode: client}\n",
            "AIG-302",
            "{mode",
            "spec.network.wifi.wlan1",
            "AIG-302 has no Wi-Fi interface wlan1 (Wi-Fi: wlan0)",
        ),
        (
            "network:\n  cellular:\n    wwan0: {enabled: true}\n",
            "UNO-2484G",
            "{enabled",
            "spec.network.cellular.wwan0",
            "UNO-2484G has no cellular interface wwan0 (cellular: none)",
        ),
        (
            "network:\n  cellular:\n    wwan1: {enabled: true}\n",
            "AIG-302",
            "{enabled",
            "spec.network.cellular.wwan1",
            "(cellular: wwan0)",
        ),
    ],
)
def test_interfaces_the_model_lacks(
    body: str, model: str, token: str, path: str, fragment: str
) -> None:
    one_problem(body, model).at(0, 7, token, path, fragment)


def test_route_priority_entry_the_model_lacks() -> None:
    result = one_problem("network:\n  routePriority: [eth0, eth5]\n")
    result.at(
        0, 6, "eth5", "spec.network.routePriority.1", "AIG-302 has no interface eth5 (it has "
    )


def test_route_priority_duplicate_and_metric_conflict() -> None:
    result = validate(
        """\
        network:
          interfaces:
            eth0: {dhcp: true, metric: 10}
          routePriority: [eth0, eth1, eth0]
        """
    )
    assert len(result.problems) == 2
    result.at(0, 7, "10", "spec.network.interfaces.eth0.metric", "ordered by routePriority")
    result.at(1, 8, "eth0]", "spec.network.routePriority.2", "eth0 is listed twice")


@pytest.mark.parametrize(
    ("dns", "token", "key", "fragment"),
    [
        ("{secondary: 1.1.1.1}", "1.1", "secondary", "a secondary DNS server needs a primary"),
        ("{enabled: false, primary: 10.0.0.53}", "10.0", "primary", "static DNS is disabled"),
        ("{enabled: true}", "true", "enabled", "static DNS needs a primary server"),
        ("{primary: 1.1.1.1, secondary: 1.1.1.1}", "1.1.1.1}", "secondary", "same server"),
        ("{primary: 10.0.0.256}", "10.0", "primary", "is not an IPv4 address"),
        ("{primary: 10.0.0.1, search: [-bad.example]}", "-bad", "search.0", "invalid host name"),
    ],
)
def test_dns_problems(dns: str, token: str, key: str, fragment: str) -> None:
    one_problem(f"network:\n  dns: {dns}\n").at(0, 6, token, f"spec.network.dns.{key}", fragment)


def test_wifi_client_network_problems() -> None:
    result = validate(
        """\
        network:
          wifi:
            wlan0:
              mode: client
              networks:
                - {ssid: plant-a}
                - {ssid: plant-b, security: open, psk: {secretRef: b}}
                - {ssid: plant-b, psk: {secretRef: c}}
                - {ssid: plant-c, security: wpa3-personal}
        """
    )
    assert len(result.problems) == 4
    nets = "spec.network.wifi.wlan0.networks"
    result.at(0, 10, "{ssid", f"{nets}.0", "give a psk, or write security: open")
    result.at(1, 11, "{secretRef", f"{nets}.1.psk", "an open network has no psk")
    result.at(2, 12, "plant-b", f"{nets}.2.ssid", "duplicate ssid 'plant-b'")
    result.at(3, 13, "wpa3", f"{nets}.3.security", "wpa3-personal needs a psk")


def test_ssid_longer_than_32_bytes() -> None:
    result = one_problem(
        "network:\n  wifi:\n    wlan0:\n"
        "      networks: [{ssid: 'äääääääääääääääää', security: open}]\n"
    )
    result.at(0, 8, "'ä", "spec.network.wifi.wlan0.networks.0.ssid", "at most 32 bytes")


def test_psk_must_be_a_secret_reference() -> None:
    result = one_problem(
        "network:\n  wifi:\n    wlan0:\n      networks: [{ssid: a, psk: hunter22}]\n"
    )
    result.at(0, 8, "hunter22", "spec.network.wifi.wlan0.networks.0.psk")


def test_access_point_problems() -> None:
    result = validate(
        """\
        network:
          interfaces:
            wlan0: {dhcp: true}
          wifi:
            wlan0:
              mode: ap
              ap:
                ssid: plant
                psk: {secretRef: ap}
                band: band24
                channel: 36
                dhcpServer: {enabled: true, start: 10.9.0.10}
        """,
        "UNO-2484G",
    )
    assert len(result.problems) == 3
    ap = "spec.network.wifi.wlan0.ap"
    result.at(0, 7, "true", "spec.network.interfaces.wlan0.dhcp", "give it a static address")
    result.at(1, 15, "36", f"{ap}.channel", "channel 36 is not in band24 (1..13)")
    result.at(2, 16, "true", f"{ap}.dhcpServer.enabled", "the DHCP server needs a pool end")


def test_dhcp_pool_outside_subnet_and_backwards() -> None:
    result = validate(
        """\
        network:
          interfaces:
            wlan0: {dhcp: false, address: 192.168.50.1/24}
          wifi:
            wlan0:
              mode: ap
              ap: {dhcpServer: {start: 192.168.50.200, end: 192.168.49.100}}
        """,
        "UNO-2484G",
    )
    assert len(result.problems) == 2
    end = "spec.network.wifi.wlan0.ap.dhcpServer.end"
    messages = sorted(p.message for p in result.problems)
    assert "below its start" in messages[1]
    assert "outside the interface's subnet 192.168.50.0/24" in messages[0]
    result.at(0, 11, "192.168.49", end)
    result.at(1, 11, "192.168.49", end)


@pytest.mark.parametrize(
    ("channel", "fragment"),
    [
        ("15", "15 is not a Wi-Fi channel (2.4 GHz: 1..13, 5 GHz: 36..165)"),
        ("true", "expected a channel number or 'auto'"),
    ],
)
def test_bad_channel(channel: str, fragment: str) -> None:
    result = one_problem(f"network:\n  wifi:\n    wlan0: {{ap: {{channel: {channel}}}}}\n")
    result.at(0, 7, channel, "spec.network.wifi.wlan0.ap.channel", fragment)


def test_channel_auto_and_mode_enum() -> None:
    assert (
        validate("network:\n  wifi:\n    wlan0: {mode: ap, ap: {channel: auto}}\n").problems == []
    )
    result = one_problem("network:\n  wifi:\n    wlan0: {mode: mesh}\n")
    result.at(0, 7, "mesh", "spec.network.wifi.wlan0.mode", "'client' or 'ap'")


def test_cellular_problems() -> None:
    result = validate(
        """\
        network:
          cellular:
            wwan0:
              authType: chap
              checkAlive: {enabled: true, interval: 10, timeout: 10}
              fallbackProfiles:
                - {name: b, authType: none, username: u}
                - {name: b, apn: other}
        """
    )
    assert len(result.problems) == 5
    cell = "spec.network.cellular.wwan0"
    result.at(0, 8, "chap", f"{cell}.authType", "chap authentication needs a username")
    result.at(1, 9, "true", f"{cell}.checkAlive.enabled", "the check needs a target")
    result.at(2, 9, "10}", f"{cell}.checkAlive.timeout", "must be below the interval 10 s")
    result.at(3, 11, "u}", f"{cell}.fallbackProfiles.0.username", "authType none sends no")
    result.at(4, 12, "b,", f"{cell}.fallbackProfiles.1.name", "duplicate name 'b'")


def test_cellular_ranges_and_unknown_key() -> None:
    result = validate(
        "network:\n  cellular:\n    wwan0: {profileTimeout: 60, checkAlive: {host: x}}\n"
    )
    assert len(result.problems) == 2
    cell = "spec.network.cellular.wwan0"
    result.at(0, 7, "60", f"{cell}.profileTimeout", "greater than or equal to 120")
    result.at(1, 7, "host", f"{cell}.checkAlive.host", "unknown field 'host' (allowed: ")
    assert "target" in result.problems[1].message
