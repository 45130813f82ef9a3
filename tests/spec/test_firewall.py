"""firewall: rules, port ranges, forwarding and host-service limits, located in the YAML."""

from __future__ import annotations

import pytest
from testkit import one_problem, validate

VALID = """\
firewall:
  inbound:
    - {name: modbus, port: 502, protocol: tcp, source: 10.0.0.0/8}
    - {name: opcua-range, port: 4840-4845, protocol: tcp, sourcePort: "1024-65535"}
    - {name: syslog, port: "514", protocol: udp, source: 192.168.1.5}
  forward:
    - {name: plc-web, port: 8080, protocol: tcp, toAddress: 192.168.1.10, toPort: 80}
    - {name: plc-range, port: 9000-9009, protocol: udp, toAddress: 192.168.1.11, toPort: 7000-7009}
    - {name: plc-ssh, port: 2222, protocol: tcp, toAddress: 192.168.1.12, toPort: 22,
       source: 10.1.0.0/16}
    - {name: plc-ssh-b, port: 2222, protocol: tcp, toAddress: 192.168.1.13, toPort: 22,
       source: 10.2.0.0/16}
  snat: true
  hostServices:
    - {name: ssh, sources: [10.0.0.0/8, 192.168.5.7]}
    - {name: status, sources: [10.20.0.0/16]}
  prune: true
"""


def test_design_example_is_valid_and_ports_are_normalised() -> None:
    result = validate(VALID)
    assert result.problems == []
    assert result.spec is not None and result.spec.spec.firewall is not None
    fw = result.spec.spec.firewall
    assert fw.inbound is not None and fw.forward is not None and fw.host_services is not None
    assert [r.port for r in fw.inbound] == [502, "4840-4845", 514]
    assert fw.inbound[2].source == "192.168.1.5/32"
    assert fw.forward[1].to_port == "7000-7009"
    assert fw.host_services[0].sources == ["10.0.0.0/8", "192.168.5.7/32"]
    assert fw.snat is True and fw.prune is True
    dumped = result.spec.model_dump(exclude_unset=True, by_alias=True)["spec"]["firewall"]
    assert dumped["forward"][0] == {
        "name": "plc-web",
        "port": 8080,
        "protocol": "tcp",
        "toAddress": "192.168.1.10",
        "toPort": 80,
    }


def test_prune_defaults_to_false() -> None:
    result = validate("firewall: {snat: false}\n")
    assert result.spec is not None and result.spec.spec.firewall is not None
    assert result.spec.spec.firewall.prune is False


@pytest.mark.parametrize(
    ("rule", "token", "key", "fragment"),
    [
        (
            "{name: a, port: 70000, protocol: tcp}",
            "70000",
            "port",
            "port 70000 is outside 1..65535",
        ),
        ("{name: a, port: 0, protocol: tcp}", "0,", "port", "port 0 is outside 1..65535"),
        (
            "{name: a, port: 9000-8000, protocol: tcp}",
            "9000",
            "port",
            "range 9000-8000 runs backwards",
        ),
        ("{name: a, port: 80-x, protocol: tcp}", "80-x", "port", "expected a port or a range"),
        ("{name: a, port: true, protocol: tcp}", "true", "port", "expected a port or a range"),
        ("{name: a, port: 80, protocol: icmp}", "icmp", "protocol", "'tcp' or 'udp'"),
        (
            "{name: 'open:80', port: 80, protocol: tcp}",
            "'open",
            "name",
            "invalid rule name 'open:80': use 1-32 letters, digits, spaces, '-' or '_', not "
            "starting or ending with a space; did you mean 'open-80'?",
        ),
        (
            "{name: ' open 80', port: 80, protocol: tcp}",
            "' open",
            "name",
            "did you mean 'open 80'?",
        ),
        (
            "{name: a, port: 80, protocol: tcp, source: 10.0.0.1/8}",
            "10.0",
            "source",
            "host bits set",
        ),
        ("{name: a, port: 80, protocol: tcp, sourcePort: 99999}", "99999", "sourcePort", "outside"),
        ("{name: a, port: 80, protocol: tcp, action: drop}", "action", "action", "unknown field"),
        ("{name: a, port: 80}", "{name", "protocol", "required field is missing"),
    ],
)
def test_inbound_rule_problems(rule: str, token: str, key: str, fragment: str) -> None:
    result = one_problem(f"firewall:\n  inbound:\n    - {rule}\n")
    result.at(0, 7, token, f"spec.firewall.inbound.0.{key}", fragment)


def test_rule_name_longer_than_32() -> None:
    name = "r" * 33
    result = one_problem(f"firewall:\n  inbound:\n    - {{name: {name}, port: 1, protocol: tcp}}\n")
    result.at(0, 7, name, "spec.firewall.inbound.0.name", "1-32 letters")


def test_rule_names_with_spaces_as_in_the_gateway_docs_sample() -> None:
    """The doc's own sample rule is named "open listen port 8081"."""
    result = validate(
        "firewall:\n  inbound:\n    - {name: open listen port 8081, port: 8081, protocol: tcp}\n"
    )
    assert result.problems == []
    assert result.spec is not None and result.spec.spec.firewall is not None
    assert [r.name for r in result.spec.spec.firewall.inbound or []] == ["open listen port 8081"]


def test_duplicate_rule_names() -> None:
    result = one_problem(
        """\
        firewall:
          inbound:
            - {name: web, port: 80, protocol: tcp}
            - {name: web, port: 443, protocol: tcp}
        """
    )
    result.at(0, 8, "web", "spec.firewall.inbound.1.name", "duplicate name 'web'")


def test_forward_problems() -> None:
    result = validate(
        """\
        firewall:
          forward:
            - {name: a, port: 8000-8010, protocol: tcp, toAddress: 192.168.1.10, toPort: 80-81}
            - {name: b, port: 8005, protocol: tcp, toAddress: 192.168.1.11}
            - {name: c, port: 8005, protocol: udp, toAddress: 192.168.1.12}
          inbound:
            - {name: web, port: 8080, protocol: tcp}
            - {name: d, port: 8009-8020, protocol: tcp}
        """
    )
    assert len(result.problems) == 3
    result.at(
        0,
        7,
        "80-81",
        "spec.firewall.forward.0.toPort",
        "toPort 80-81 is not as long as port 8000-8010",
    )
    result.at(
        1, 8, "8005", "spec.firewall.forward.1.port", "tcp/8005 is already forwarded by rule 'a'"
    )
    result.at(
        2, 12, "8009", "spec.firewall.inbound.1.port", "forwarded by rule 'a'; the device never"
    )


@pytest.mark.parametrize(
    ("address", "fragment"),
    [
        ("127.0.0.1", "127.0.0.1 cannot receive forwarded traffic"),
        ("224.0.0.1", "not a unicast host"),
        ("255.255.255.255", "not a unicast host"),
        ("plc.local", "is not an IPv4 address"),
    ],
)
def test_forward_target_must_be_a_unicast_ipv4_host(address: str, fragment: str) -> None:
    result = one_problem(
        f"firewall:\n  forward:\n    - {{name: a, port: 80, protocol: tcp, toAddress: {address}}}\n"
    )
    result.at(0, 7, address, "spec.firewall.forward.0.toAddress", fragment)


def test_host_service_problems() -> None:
    result = validate(
        """\
        firewall:
          hostServices:
            - {name: telnet, sources: [10.0.0.0/8]}
            - {name: ssh, sources: []}
            - {name: http, sourcePort: 70000}
        """
    )
    assert len(result.problems) == 3
    hs = "spec.firewall.hostServices"
    result.at(0, 7, "telnet", f"{hs}.0.name", "'ssh', 'http', 'https', 'modbus' or 'status'")
    result.at(1, 8, "[]", f"{hs}.1.sources", "at least 1 item")
    result.at(2, 9, "70000", f"{hs}.2.sourcePort", "port 70000 is outside 1..65535")
    nothing = one_problem("firewall:\n  hostServices:\n    - {name: https}\n")
    nothing.at(0, 7, "{name", f"{hs}.0.sources", "give sources, sourcePort or both")


def test_host_service_duplicates() -> None:
    result = validate(
        """\
        firewall:
          hostServices:
            - {name: ssh, sources: [10.0.0.0/8, 10.0.0.0/8]}
            - {name: ssh, sources: [192.168.0.0/16]}
        """
    )
    assert len(result.problems) == 2
    result.at(
        0, 7, "10.0.0.0/8]", "spec.firewall.hostServices.0.sources.1", "10.0.0.0/8 is listed twice"
    )
    result.at(1, 8, "ssh", "spec.firewall.hostServices.1.name", "duplicate name 'ssh'")


def test_snat_and_prune_are_booleans() -> None:
    result = validate("firewall: {snat: maybe, prune: 2}\n")
    assert len(result.problems) == 2
    result.at(0, 5, "maybe", "spec.firewall.snat", "valid boolean")
    result.at(1, 5, "2}", "spec.firewall.prune", "valid boolean")
