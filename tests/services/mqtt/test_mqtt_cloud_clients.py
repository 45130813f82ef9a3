"""cloud.clients run by `reconcile agent`, against real mosquittos on loopback: a generic
MQTT broker with a password, AWS IoT Core's form (TLS on 8883 with the thing's client
certificate, which the broker requires; state on the shadow topic) and Azure IoT Hub's form
(TLS on 8883, the hub's user name, device-to-cloud messages on the events topic). A new
commit reconfigures them (disabled: the offline status; removed: disconnected). The SAS
token is checked against an HMAC computed by openssl; no secret reaches logs or files.
"""

from __future__ import annotations

import base64
import json
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import pytest
from agent_kit import DEVICE, HOUR, PREFIX, AgentProcess, FleetRepo
from mqtt_broker import Broker, Certs, Collector, Received, loopback_address, server_cert_for
from uplink_kit import SECRET_VALUES, add_secret

from reconciler.services.mqtt import kinds
from reconciler.services.mqtt.azure import (
    ConnectionStringError,
    parse_connection_string,
    sas_token,
)
from reconciler.services.mqtt.settings import SettingsError
from reconciler.spec.cloud_clients import CloudClient

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git (Debian: git)")

AZURE_KEY = base64.b64encode(b"azure-device-key-Secret-Value-12").decode()
AZURE_DEVICE, THING = "gw-azure", "gw-aws"
MQTT_PASSWORD = "mqtt-Secret-Value-99"


def openssl_hmac(key_b64: str, text: str) -> str:
    """HMAC-SHA256, base64: computed by openssl, not by the code under test."""
    proc = subprocess.run(
        ["openssl", "dgst", "-sha256", "-binary", "-mac", "HMAC", "-macopt",
         f"hexkey:{base64.b64decode(key_b64).hex()}"],
        input=text.encode(), capture_output=True, check=True, timeout=30,
    )  # fmt: skip
    return base64.b64encode(proc.stdout).decode()


def test_sas_token_is_the_documented_signature() -> None:
    """Microsoft's form: sr = url-encoded resource URI, sig = base64 HMAC-SHA256 (key
    base64-decoded) over "<url-encoded URI>\\n<expiry>", se = expiry."""
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl (Debian: apt-get install openssl)")
    uri, expiry = "myhub.azure-devices.net/devices/device-1", 1_700_000_000
    token = sas_token(uri, AZURE_KEY, expiry)
    assert token.startswith("SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2F")
    fields = parse_qs(token.removeprefix("SharedAccessSignature "), strict_parsing=True)
    assert fields == {
        "sr": [uri],
        "sig": [openssl_hmac(AZURE_KEY, f"{quote(uri, safe='')}\n{expiry}")],
        "se": [str(expiry)],
    }


def test_connection_string_problems_never_echo_the_key() -> None:
    conn = parse_connection_string(
        f"HostName=h.azure-devices.net;DeviceId=d1;SharedAccessKey={AZURE_KEY}"
    )
    assert conn.username == "h.azure-devices.net/d1/?api-version=2021-04-12"
    assert AZURE_KEY not in repr(conn)
    assert parse_connection_string("HostName=h;DeviceId=d1;x509=true").key is None
    for text, problem in (
        (f"HostName=h;SharedAccessKey={AZURE_KEY}", "no DeviceId="),
        (f"HostName=h;DeviceId=d;{AZURE_KEY[:-1]}", "part 3 is not Name=value"),
        ("HostName=h;DeviceId=d;SharedAccessKey=not*base64", "not base64"),
        ("HostName=h;DeviceId=d", "neither SharedAccessKey= nor x509=true"),
    ):
        with pytest.raises(ConnectionStringError, match=problem) as caught:
            parse_connection_string(text)
        assert AZURE_KEY[:-1] not in str(caught.value)


def client(document: dict[str, object]) -> CloudClient:
    return CloudClient.model_validate(document)


def test_each_kind_as_connection_settings() -> None:
    secrets = {
        "cert": "CERT",
        "key": "KEY",
        "conn": f"HostName=h;DeviceId=d1;SharedAccessKey={AZURE_KEY}",
    }
    refs = {"clientCert": {"secretRef": "cert"}, "clientKey": {"secretRef": "key"}}
    thing = {"endpoint": "e.example", "port": 443, "thingName": "t1", "certificate": refs}
    aws = kinds.resolve(client({"name": "a", "aws": thing}), DEVICE, secrets.__getitem__)
    assert (aws.host, aws.port, aws.alpn, aws.client_id) == (
        "e.example",
        443,
        ("x-amzn-mqtt-ca",),
        "t1",
    )
    assert aws.topic("telemetry") == "things/t1/telemetry" and aws.topic("sync") is None
    assert aws.tls is not None and aws.tls.key_pem == "KEY"
    azure = client(
        {"name": "z", "azureDevice": {"connectionString": {"secretRef": "conn"}, "twin": True}}
    )
    settings = kinds.resolve(azure, DEVICE, secrets.__getitem__, now=86400 * 3 + 5)
    assert settings.topic("events") == "devices/d1/messages/events/kind=events"
    assert settings.topic("state") == "$iothub/twin/PATCH/properties/reported/?$rid=1"
    assert settings.password == sas_token("h/devices/d1", AZURE_KEY, 86400 * 5)
    assert AZURE_KEY not in repr(settings) and "sig=" not in repr(settings)
    with pytest.raises(
        SettingsError, match=r"cloud.clients\[z\].azureDevice.connectionString: .*'conn'"
    ):
        kinds.resolve(azure, DEVICE, {}.__getitem__)
    node: dict[str, Any] = {
        "groupId": "g",
        "nodeId": "n",
        "brokers": [{"name": "b", "host": "h", "port": 1883}],
    }
    node["brokers"] = [{"name": "off", "enable": False, "host": "x", "port": 1}, *node["brokers"]]
    edge = kinds.resolve(client({"name": "s", "sparkplug": node}), DEVICE, secrets.__getitem__)
    assert (edge.host, edge.port, edge.qos, edge.sparkplug) == ("h", 1883, 0, ("g", "n"))
    assert (
        edge.topic("telemetry") == "spBv1.0/g/NDATA/n" and edge.will_topic() == "spBv1.0/g/NDEATH/n"
    )


def clients_yaml(plain: Broker, aws: Broker, generic_enabled: bool, azure: bool) -> str:
    """cloud.clients lines, appended after cloud.mqtt's keys (indent 4: a sibling of mqtt)."""
    text = f"""\
    clients:
      - name: plant-broker
        enable: {str(generic_enabled).lower()}
        mqtt:
          host: 127.0.0.1
          port: {plain.port}
          userName: gw-generic
          password: {{secretRef: mqtt-password}}
          clientId: gw-generic
          willMessage: {{topic: plant/gw/lwt, payload: gone, qos: 1, retain: true}}
      - name: aws
        aws:
          endpoint: {aws.host}
          thingName: {THING}
          shadow: true
          certificate:
            caCert: {{secretRef: test-ca}}
            clientCert: {{secretRef: aws-cert}}
            clientKey: {{secretRef: aws-key}}
"""
    if azure:
        text += """\
      - name: azure
        azureDevice:
          connectionString: {secretRef: azure-conn}
          certificate: {caCert: {secretRef: test-ca}}
"""
    return text


@pytest.fixture
def lab(
    tmp_path: Path, secrets_dir: Path, certs: Certs, new_broker: Callable[..., Broker]
) -> Iterator[tuple[list[Broker], FleetRepo, AgentProcess]]:
    users = {DEVICE: MQTT_PASSWORD, "gw-generic": MQTT_PASSWORD, "watcher": MQTT_PASSWORD}
    plain = new_broker(passwords=users)
    brokers = [plain]
    for require in (True, False):  # AWS requires the client certificate, Azure does not
        address = loopback_address()
        own = server_cert_for(certs, address)
        brokers.append(new_broker(host=address, port=8883, certs=own, require_certificate=require))
    azure_conn = f"HostName={brokers[2].host};DeviceId={AZURE_DEVICE};SharedAccessKey={AZURE_KEY}"
    for name, value in (
        ("test-ca", certs.ca.read_text()),
        ("aws-cert", certs.client_cert.read_text()),
        ("aws-key", certs.client_key.read_text()),
        ("azure-conn", azure_conn),
    ):
        add_secret(secrets_dir, name, value)
    repo = FleetRepo(tmp_path / "git", plain.port)
    agent = AgentProcess(tmp_path, repo, secrets_dir)
    yield brokers, repo, agent
    if agent.proc is not None:
        agent.end(signal.SIGKILL)
    log = agent.log.read_text() if agent.log.exists() else ""
    assert "Traceback" not in log, log
    key_body = certs.client_key.read_text().splitlines()[1]
    for value in [*SECRET_VALUES, AZURE_KEY, key_body, "sig="]:
        assert value not in log
        for path in agent.state.rglob("*"):
            assert not path.is_file() or value.encode() not in path.read_bytes(), path


def status_of(commit: str) -> Callable[[Received], bool]:
    return lambda m: m.topic.endswith("status") and m.data.get("lastAppliedCommit") == commit


def test_agent_runs_each_client_and_follows_the_spec(
    lab: tuple[list[Broker], FleetRepo, AgentProcess], collect: Callable[..., Collector]
) -> None:
    (plain, aws, azure), repo, agent = lab
    watcher = ("watcher", MQTT_PASSWORD)
    generic = collect(plain, [f"{DEVICE}/#", "plant/gw/lwt"], auth=watcher)
    shadow = f"$aws/things/{THING}/shadow/update"
    amazon = collect(aws, [f"things/{THING}/#", shadow])
    hub = collect(azure, [f"devices/{AZURE_DEVICE}/messages/events/#"])
    repo.extra = clients_yaml(plain, aws, generic_enabled=True, azure=True)
    first = repo.push("rev-A")
    agent.start(interval=HOUR)

    generic.wait_for("the generic client's status", status_of(first))
    amazon.wait_for("the status over AWS's TLS with a client certificate", status_of(first))
    report = amazon.wait_for("the shadow update", lambda m: m.topic == shadow)
    assert report.data["state"]["reported"]["type"] == "state"
    hub.wait_for(
        "a device-to-cloud message on Azure's events topic",
        lambda m: (
            m.topic == f"devices/{AZURE_DEVICE}/messages/events/kind=status"
            and m.data.get("lastAppliedCommit") == first
        ),
    )
    connect_log = (azure.root / "mosquitto.log").read_text()
    assert f"u'{azure.host}/{AZURE_DEVICE}/?api-version=2021-04-12'" in connect_log

    repo.extra = clients_yaml(plain, aws, generic_enabled=False, azure=False)
    second = repo.push("rev-B")
    generic.publish(f"{PREFIX}/{DEVICE}/sync", json.dumps({"requestId": "rev-B"}))  # fetch now
    amazon.wait_for("aws still connected after the new commit", status_of(second))
    generic.wait_for(
        "the disabled client's offline status",
        lambda m: m.topic == f"{DEVICE}/status" and m.data.get("reason") == "disabled",
    )
    hub.wait_for(
        "the removed client's offline status",
        lambda m: m.topic.endswith("kind=status") and m.data.get("reason") == "stopped",
    )
    assert agent.end() == 0


def varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        value, shift, at = value | (byte & 0x7F) << shift, shift + 7, at + 1
        if byte < 0x80:
            return value, at


def fields(data: bytes) -> list[tuple[int, Any]]:
    """Protocol Buffers wire format, read by hand (not by the code under test): (field
    number, int or bytes), in order."""
    out: list[tuple[int, Any]] = []
    at = 0
    while at < len(data):
        key, at = varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = varint(data, at)
        elif wire == 2:
            size, at = varint(data, at)
            value, at = data[at : at + size], at + size
        elif wire == 1:
            value, at = data[at : at + 8], at + 8
        else:
            raise AssertionError(f"unexpected wire type {wire}")
        out.append((number, value))
    return out


def sparkplug_payload(data: bytes) -> tuple[int | None, dict[str, tuple[int, Any]]]:
    """(seq, {metric name: (datatype, value)}) per sparkplug_b.proto: Payload seq = 3,
    metrics = 2; Metric name = 1, datatype = 4, long_value = 11, double_value = 13,
    boolean_value = 14, string_value = 15 (None: a null metric)."""
    top = fields(data)
    seq = next((v for n, v in top if n == 3), None)
    metrics: dict[str, tuple[int, Any]] = {}
    for number, raw in top:
        if number != 2:
            continue
        metric = dict(fields(raw))
        value = next((metric[n] for n in (11, 14, 15, 13) if n in metric), None)  # 7: is_null
        text = metric[4] == 12 and value is not None
        metrics[metric[1].decode()] = (metric[4], value.decode() if text else value)
    return seq, metrics


def test_sparkplug_edge_node_birth_data_and_death(
    tmp_path: Path,
    secrets_dir: Path,
    new_broker: Callable[..., Broker],
    collect: Callable[..., Collector],
) -> None:
    broker = new_broker()
    repo = FleetRepo(tmp_path / "git", broker.port)
    repo.extra = f"""\
    clients:
      - name: line-node
        sparkplug:
          groupId: plant-a
          nodeId: {DEVICE}
          brokers:
            - {{name: local, host: 127.0.0.1, port: {broker.port}}}
"""
    base = f"spBv1.0/plant-a/{{}}/{DEVICE}"
    scada = collect(broker, [base.format("+")])
    agent = AgentProcess(tmp_path, repo, secrets_dir)
    commit = repo.push("rev-A")
    agent.start(interval=HOUR)
    try:
        birth = scada.wait_for("NBIRTH", lambda m: m.topic == base.format("NBIRTH"))
        seq, metrics = sparkplug_payload(birth.payload)
        assert seq == 0 and not birth.retain
        bd_seq = metrics["bdSeq"]
        assert bd_seq[0] == 4  # Int64
        assert metrics["Node Control/Rebirth"] == (11, 0)

        def applied(message: Received) -> bool:
            found = sparkplug_payload(message.payload)[1].get("status/lastAppliedCommit")
            return message.topic == base.format("NDATA") and found == (12, commit)

        scada.wait_for("NDATA with the applied commit", applied)
        ndata = [sparkplug_payload(m.payload)[0] for m in scada.messages("NDATA/" + DEVICE)]
        assert ndata == list(range(1, len(ndata) + 1))  # seq follows NBIRTH's 0
    finally:
        agent.end(signal.SIGKILL)
    death = scada.wait_for("NDEATH (the will)", lambda m: m.topic == base.format("NDEATH"))
    assert sparkplug_payload(death.payload) == (None, {"bdSeq": bd_seq})
    assert "lost its connection" not in agent.log.read_text()  # no client id taken twice
