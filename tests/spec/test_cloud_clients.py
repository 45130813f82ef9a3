"""cloud.clients (the gateway doc's MQTT client list, AWS IoT Core, Azure IoT Hub, Sparkplug B),
cloud.mqtt.willMessage and store-and-forward's targetDiskName: valid documents load, each
problem is reported at its field; on sim a plan shows them (secrets as "(sensitive)") and
apply records them (linux stores them too: tests/drivers/linux/test_apply_devices.py;
the agent runs them: tests/services/mqtt/test_mqtt_cloud_clients.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testkit import one_problem, validate

CLIENTS = """\
    cloud:
      mqtt:
        host: 127.0.0.1
        willMessage: {topic: plants/a/gw/lwt, payload: gone, qos: 1, retain: true}
        storeAndForward: {targetDiskName: System}
      clients:
        - name: historian
          mqtt:
            host: historian.example
            port: 8883
            certificateOverTLS: true
            tlsVersion: 1.3
            userName: gw
            password: {secretRef: mqtt-password}
            willMessage: {topic: hist/gw/status, payload: offline, qos: 1, retain: true}
            remoteApi: {enable: true}
            certificate: {caCert: {secretRef: ap-psk}}
          storeAndForward: {desiredDiskCacheSizeMB: 16, timeToLiveSec: 7200}
        - name: aws
          aws:
            endpoint: abc123-ats.iot.eu-west-1.amazonaws.com
            thingName: gw
            certificate: {clientCert: {secretRef: apn-password}, clientKey: {secretRef: sim-pin}}
        - name: hub
          azureDevice: {connectionString: {secretRef: monitor-password}, protocol: amqp}
        - name: scada
          sparkplug:
            groupId: thingspro-edges
            nodeId: gw
            primaryHostId: scada1
            brokers:
              - {name: primary, host: test.sparkplug.org, port: 1883, keepAliveSec: 10}
    """


def test_every_kind_loads_with_the_docs_defaults() -> None:
    result = validate(CLIENTS)
    assert result.problems == []
    assert result.spec is not None and result.spec.spec.cloud is not None
    cloud = result.spec.spec.cloud
    assert [c.kind for c in cloud.clients or []] == ["mqtt", "aws", "azureDevice", "sparkplug"]
    historian = (cloud.clients or [])[0]
    assert historian.mqtt is not None and historian.mqtt.tls_version == "1.3"
    assert (historian.mqtt.keep_alive_sec, historian.mqtt.retry_interval) == (60, 60)
    assert historian.store_and_forward is not None
    assert historian.store_and_forward.send_delay_millsecond == 10
    sparkplug = (cloud.clients or [])[3].sparkplug
    assert sparkplug is not None and (sparkplug.max_retries, sparkplug.handshake_timeout) == (3, 10)
    assert cloud.mqtt is not None and cloud.mqtt.will_message is not None
    assert cloud.mqtt.will_message.qos == 1


@pytest.mark.parametrize(
    ("body", "line", "token", "path", "fragment"),
    [
        (
            "cloud:\n  mqtt:\n    host: b.example\n    willMessage: {topic: a/+/b}\n",
            8,
            "a/+/b",
            "spec.cloud.mqtt.willMessage.topic",
            "wildcard",
        ),
        (
            "cloud:\n  mqtt:\n    host: b.example\n    willMessage: {topic: t, qos: 3}\n",
            8,
            "3",
            "spec.cloud.mqtt.willMessage.qos",
            "0, 1 or 2",
        ),
        (
            "cloud:\n  mqtt:\n    host: b.example\n    storeAndForward: {targetDiskName: SD}\n",
            8,
            "SD",
            "spec.cloud.mqtt.storeAndForward.targetDiskName",
            "'System'",
        ),
        (
            "cloud:\n  clients:\n    - name: c\n      mqtt: {host: h.example, port: 1883,"
            " keepAliveSec: 5}\n",
            8,
            "5}",
            "spec.cloud.clients.0.mqtt.keepAliveSec",
            "greater than or equal to 10",
        ),
        (
            "cloud:\n  clients:\n    - name: c\n      mqtt: {host: h.example, port: 1883,"
            " wilMessage: {topic: t}}\n",
            8,
            "wilMessage",
            "spec.cloud.clients.0.mqtt.wilMessage",
            "did you mean 'willMessage'",
        ),
        (
            "cloud:\n  clients:\n    - name: c\n      mqtt: {host: h.example}\n",
            8,
            "mqtt",
            "spec.cloud.clients.0.mqtt.port",
            "required",
        ),
        (
            "cloud:\n  clients:\n    - name: c\n      aws: {endpoint: e.example, thingName: t,"
            " certificate: {}}\n      mqtt: {host: h.example, port: 1883}\n",
            7,
            "name",
            "spec.cloud.clients.0",
            "exactly one of mqtt, aws, azureDevice, sparkplug (got mqtt, aws)",
        ),
        (
            "cloud:\n  clients:\n    - name: c\n      sparkplug: {groupId: a/b, nodeId: n,"
            " brokers: [{name: b, host: h.example, port: 1883}]}\n",
            8,
            "a/b",
            "spec.cloud.clients.0.sparkplug.groupId",
            "reserved in Sparkplug",
        ),
        (
            "cloud:\n  clients:\n    - name: c\n      sparkplug: {groupId: g, nodeId: n,"
            " maxRetries: 61, brokers: [{name: b, host: h.example, port: 1883}]}\n",
            8,
            "61",
            "spec.cloud.clients.0.sparkplug.maxRetries",
            "less than or equal to 60",
        ),
        (
            "cloud:\n  clients:\n    - name: c\n      azureDevice:"
            " {connectionString: {secretRef: s}, protocol: http}\n",
            8,
            "http",
            "spec.cloud.clients.0.azureDevice.protocol",
            "'mqttOverWebsocket'",
        ),
        (
            "cloud:\n  clients:\n    - name: c\n      aws: {endpoint: e.example, thingName: t,"
            " port: 1883, certificate: {}}\n",
            8,
            "1883",
            "spec.cloud.clients.0.aws.port",
            "8883 or 443",
        ),
    ],
)
def test_schema_problem_is_located(
    body: str, line: int, token: str, path: str, fragment: str
) -> None:
    one_problem(body).at(0, line, token, path, fragment)


@pytest.mark.parametrize(
    ("body", "line", "token", "path", "fragment"),
    [
        (
            "cloud:\n  clients:\n    - name: c\n      aws:\n        endpoint: e.example\n"
            "        thingName: t\n        certificate: {clientKey: {secretRef: k}}\n",
            11,
            "{clientKey",
            "spec.cloud.clients.0.aws.certificate",
            "authenticates by certificate; add clientCert",
        ),
        (
            "cloud:\n  clients:\n    - name: c\n      mqtt: {host: h.example, port: 1883,"
            " password: {secretRef: p}}\n",
            8,
            "{secretRef: p}",
            "spec.cloud.clients.0.mqtt.password",
            "needs a userName",
        ),
        (
            "cloud:\n  clients:\n    - name: c\n      mqtt: {host: h.example, port: 1883,"
            " protocolVersion: 3.1, clientId: abcdefghijklmnopqrstuvwxyz}\n",
            8,
            "abcdefghijklmnopqrstuvwxyz",
            "spec.cloud.clients.0.mqtt.clientId",
            "at most 23 characters, not 26",
        ),
        (
            "cloud:\n  clients:\n    - name: c\n      sparkplug: {groupId: g, nodeId: n,"
            " brokers: [{name: b, host: h.example, port: 1883, insecureSkipVerify: true}]}\n",
            8,
            "true}]",
            "spec.cloud.clients.0.sparkplug.brokers.0.insecureSkipVerify",
            "certificateOverTLS: true",
        ),
        (
            "cloud:\n  clients:\n    - name: c\n      mqtt: {host: h.example, port: 1883}\n"
            "    - name: c\n      mqtt: {host: i.example, port: 1883}\n",
            9,
            "c",
            "spec.cloud.clients.1.name",
            "duplicate name 'c'",
        ),
    ],
)
def test_cross_field_problem_is_located(
    body: str, line: int, token: str, path: str, fragment: str
) -> None:
    one_problem(body).at(0, line, token, path, fragment)


DEVICE = "apiVersion: reconciler/v1\nkind: Device\nmetadata: {name: gw, model: AIG-302}\nspec:\n"


def write_device(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "gw.yaml"
    path.write_text(DEVICE + body)
    return path


def test_sim_plans_applies_and_converges_without_secret_values(
    cli: Callable[..., Any], tmp_path: Path, secrets_dir: Path
) -> None:
    import textwrap

    from testkit import SECRETS

    spec = write_device(tmp_path, textwrap.indent(textwrap.dedent(CLIENTS), "  "))
    state = tmp_path / "state"
    args = ("--file", spec, "--state-dir", state, "--secrets-dir", secrets_dir)
    planned = cli("plan", *args)
    assert planned.code == 2, planned.text
    for name in ("historian", "aws", "hub", "scada"):
        assert f"+ cloud.clients[{name}]" in planned.out
    assert "connectionString: (sensitive)" in planned.out
    assert 'willMessage: {topic: "plants/a/gw/lwt"' in planned.out
    assert cli("apply", *args, "--yes").code == 0
    again = cli("plan", *args)
    assert again.code == 0, again.text
    observed = cli("observe", "--state-dir", state, "--json")
    for value in SECRETS.values():
        assert value not in observed.out and value not in planned.out
        for path in state.rglob("*"):
            assert not path.is_file() or value.encode() not in path.read_bytes(), path

    # a client gone from the spec stays unless cloud.prune says the reconciler may remove it
    fewer = CLIENTS.split("        - name: aws")[0] + "      prune: true\n"
    write_device(tmp_path, textwrap.indent(textwrap.dedent(fewer), "  "))
    pruned = cli("plan", *args)
    assert pruned.code == 2, pruned.text
    assert "- cloud.clients[aws]" in pruned.out and "- cloud.clients[scada]" in pruned.out


def test_plan_leaves_the_device_untouched(
    cli: Callable[..., Any], tmp_path: Path, secrets_dir: Path
) -> None:
    import textwrap

    spec = write_device(tmp_path, textwrap.indent(textwrap.dedent(CLIENTS), "  "))
    device = tmp_path / "state" / "sim"
    args = ("--file", spec, "--state-dir", tmp_path / "state", "--secrets-dir", secrets_dir)
    assert cli("plan", *args).code == 2
    before = {p: p.read_bytes() for p in device.rglob("*") if p.is_file()}
    assert before, "the sim device was not created: the test proves nothing"
    assert cli("plan", *args, "--json").code == 2
    assert {p: p.read_bytes() for p in device.rglob("*") if p.is_file()} == before
