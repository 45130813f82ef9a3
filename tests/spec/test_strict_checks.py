"""Validate-time checks that close gaps found by trying to break validation: systemd unit
names, host:port ranges, strict booleans and numbers, keys that differ only in type. Each
is one located problem; the JSON schema refuses the same documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from testkit import one_problem, validate

from reconciler.loader import SpecError, parse_document

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "device.schema.json"


@pytest.mark.parametrize(
    ("name", "token"),
    [("--root=/tmp/x", '"--root'), ("", '""'), ("../../etc/shadow", '"../'), ("a b", '"a b')],
)
def test_service_names_follow_systemd_unit_grammar(name: str, token: str) -> None:
    result = one_problem(f'services: {{ssh: running, "{name}": stopped}}\n')
    result.at(0, 5, token, f"spec.services.{name}", f"invalid service name {name!r}")


def test_valid_unit_names_pass() -> None:
    body = (
        "services: {ssh: running, getty@tty1: running, systemd-networkd: stopped, a_b.c: running}\n"
    )
    assert validate(body).problems == []


@pytest.mark.parametrize(
    ("target", "token"),
    [("host:99999", "'host:99999"), ("host:0", "'host:0"), ("host", "'host'"), (":22", "':22")],
)
def test_must_reach_ports_are_in_range(target: str, token: str) -> None:
    result = one_problem(f"agent:\n  mustReach: ['10.0.0.1:502', '{target}']\n")
    result.at(0, 6, token, "spec.agent.mustReach.1", f"port within 1..65535, got {target!r}")


def test_must_reach_accepts_names_and_ipv6() -> None:
    body = "agent:\n  mustReach: ['plc-1.local:502', '[fd00::1]:22', '10.0.0.1:65535']\n"
    assert validate(body).problems == []


def test_health_check_tcp_port_in_range() -> None:
    result = one_problem("agent:\n  healthChecks:\n    - {name: plc, tcp: 'plc:70000'}\n")
    result.at(0, 7, "'plc:70000'", "spec.agent.healthChecks.0.tcp", "port within 1..65535")


@pytest.mark.parametrize(
    ("body", "line", "token", "path", "fragment"),
    [
        ("brightness: true\n", 5, "true", "spec.brightness", "valid integer, not true"),
        ('brightness: "5"\n', 5, '"5"', "spec.brightness", "valid integer, not '5'"),
        ("watchdog: {enabled: yes}\n", 5, "yes", "spec.watchdog.enabled", "a string in YAML 1.2"),
        ("watchdog: {enabled: on}\n", 5, "on", "spec.watchdog.enabled", "not 'on'"),
        ('watchdog: {enabled: "true"}\n', 5, '"true"', "spec.watchdog.enabled", "valid boolean"),
        ("watchdog: {enabled: 1}\n", 5, "1}", "spec.watchdog.enabled", "not 1"),
        (
            "cloud:\n  mqtt: {host: b, keepAliveSec: false}\n",
            6,
            "false",
            "spec.cloud.mqtt.keepAliveSec",
            "valid integer, not false",
        ),
    ],
)
def test_booleans_and_numbers_are_strict(
    body: str, line: int, token: str, path: str, fragment: str
) -> None:
    result = one_problem(body, model="UNO-2484G")
    result.at(0, line, token, path, fragment)


@pytest.mark.parametrize(
    ("pins", "col", "fragment"),
    [
        ('      0: {direction: input}\n      "0": {direction: input}\n', 7, "as 0 above"),
        ('      "1": {direction: input}\n      1: {direction: input}\n', 7, "as '1' above"),
    ],
)
def test_keys_that_differ_only_in_type_are_one_key(pins: str, col: int, fragment: str) -> None:
    text = "apiVersion: reconciler/v1\nkind: Device\nmetadata: {name: gw, model: UNO-2484G}\n"
    with pytest.raises(SpecError) as exc:
        parse_document(text + "spec:\n  gpio:\n    pins:\n" + pins, "f.yaml")
    (problem,) = exc.value.problems
    assert (problem.line, problem.col) == (8, col)
    assert problem.path.startswith("spec.gpio.pins.") and fragment in problem.message


def _schema_errors(body: str) -> list[Any]:
    text = "apiVersion: reconciler/v1\nkind: Device\nmetadata: {name: gw, model: UNO-2484G}\n"
    data = parse_document(text + "spec:\n" + body, "f.yaml").data
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    return list(validator.iter_errors(data))


@pytest.mark.parametrize(
    "body",
    [
        "  brightness: true\n",
        "  watchdog: {enabled: yes}\n",
        '  services: {"--root=/tmp/x": running}\n',
        "  agent: {mustReach: ['host:99999x']}\n",
        "  access: {roles: [{name: r, permissions: ['status:raed']}]}\n",
    ],
)
def test_the_json_schema_refuses_them_too(body: str) -> None:
    assert _schema_errors(body), body
    assert not _schema_errors("  brightness: 5\n  watchdog: {enabled: true}\n")
