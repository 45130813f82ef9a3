"""cloud and update areas: valid documents load, invalid ones fail at the exact position."""

from __future__ import annotations

import textwrap

import pytest

from reconciler.loader import Problem, parse_document, validate_device_document

# The body starts on line 5 and is indented two columns under `spec:`.
HEAD = "apiVersion: reconciler/v1\nkind: Device\nmetadata: {name: gw, model: AIG-302}\nspec:\n"


def problems(body: str) -> list[Problem]:
    text = HEAD + textwrap.indent(textwrap.dedent(body), "  ")
    _, found = validate_device_document(parse_document(text, "f.yaml"))
    return found


def expect(found: list[Problem], want: dict[str, tuple[int, int, str]]) -> None:
    got = {p.path: (p.line, p.col, p.message) for p in found}
    assert len(got) == len(found) and set(got) == set(want), [str(p) for p in found]
    for path, (line, col, fragment) in want.items():
        assert got[path][:2] == (line, col), (path, got[path])
        assert fragment in got[path][2], (path, got[path])


MQTT = "cloud:\n  mqtt:\n    host: broker.example\n"  # further keys start on line 8


def test_design_example_and_defaults() -> None:
    body = """\
        cloud:
          mqtt:
            host: broker.plant-a.example
            port: 8883
            tls: true
            username: press-line-07
            password: {secretRef: mqtt-password}
            clientId: press-line-07
            topicPrefix: plants/a
            keepAliveSec: 60
        update:
          allowUpdate: true
          allowOverCellular: false
          snapshotBeforeUpdate: true
          autoScan: "0 3 * * *"
          maintenanceWindow: {cron: "0 2 * * 0", durationMinutes: 120}
        """
    text = HEAD + textwrap.indent(textwrap.dedent(body), "  ")
    spec, found = validate_device_document(parse_document(text, "f.yaml"))
    assert found == []
    assert spec is not None and spec.spec.cloud is not None and spec.spec.cloud.mqtt is not None
    mqtt = spec.spec.cloud.mqtt
    assert mqtt.tls is not None and mqtt.tls.enabled and mqtt.tls.version == "1.2"
    assert (mqtt.qos, mqtt.protocol_version, mqtt.clean_session) == (1, "3.1.1", True)
    assert mqtt.insecure_skip_verify is False
    update = spec.spec.update
    assert update is not None and update.maintenance_window is not None
    assert update.maintenance_window.duration_minutes == 120


def test_rich_tls_websocket_and_store_and_forward() -> None:
    found = problems(
        MQTT + "    tls: {version: 1.3, caCert: {secretRef: ca}, clientCert: {secretRef: c},"
        " clientKey: {secretRef: k}}\n"
        "    protocolVersion: 5\n"
        "    websocket: true\n"
        "    websocketPath: /mqtt\n"
        "    qos: 0\n"
        "    keepAliveSec: 65536\n"
        "    storeAndForward: {maxSizeMB: 64, maxAgeHours: 48, dropPolicy: newest,"
        " sendDelayMs: 50}\n"
    )
    assert found == []


def test_effective_port_defaults() -> None:
    from reconciler.spec.cloud import MqttSpec

    def port(**kw: object) -> int:
        return MqttSpec.model_validate({"host": "b", **kw}).effective_port

    assert (port(), port(tls=True), port(tls=False)) == (1883, 8883, 1883)
    assert (port(websocket=True), port(websocket=True, tls={})) == (80, 443)
    assert port(port=1884, tls=True) == 1884


@pytest.mark.parametrize(
    ("line", "path", "col", "fragment"),
    [
        ("keepAliveSec: 9", "keepAliveSec", 21, "greater than or equal to 10"),
        ("keepAliveSec: 65537", "keepAliveSec", 21, "less than or equal to 65536"),
        ("qos: 3", "qos", 12, "0, 1 or 2"),
        ("port: 70000", "port", 13, "less than or equal to 65535"),
        ("protocolVersion: 4", "protocolVersion", 24, "'3.1', '3.1.1' or '5'"),
        ("topicPrefix: plants/+/a", "topicPrefix", 20, "contains an MQTT wildcard"),
        ("topicPrefix: 'plants/#'", "topicPrefix", 20, "contains an MQTT wildcard"),
        ("topicPrefix: /plants/a", "topicPrefix", 20, "empty topic level"),
        ("topicPrefix: $SYS/x", "topicPrefix", 20, "starts with '$'"),
        ("tls: yes", "tls", 12, "expected true, false or a mapping of TLS settings"),
        ("tls: {version: 1.4}", "tls.version", 22, "'1.0', '1.1', '1.2' or '1.3'"),
        ("tls: {caCrt: {secretRef: ca}}", "tls.caCrt", 13, "did you mean 'caCert'?"),
        ("password: hunter2", "password", 17, "valid dictionary"),
        ("keepAlive: 60", "keepAlive", 7, "did you mean 'keepAliveSec'?"),
        ("storeAndForward: {dropPolicy: middle}", "storeAndForward.dropPolicy", 37, "'newest'"),
        ("storeAndForward: {maxSizeMB: 0}", "storeAndForward.maxSizeMB", 36, "greater than"),
        ("storeAndForward: {maxSizeMb: 8}", "storeAndForward.maxSizeMb", 25, "'maxSizeMB'"),
        ("insecureSkipVerify: true", "insecureSkipVerify", 27, "only applies with tls"),
        ("password: {secretRef: p}", "password", 17, "a password needs a username"),
        ("websocketPath: /mqtt", "websocketPath", 22, "only applies with websocket: true"),
        ("tls: {clientCert: {secretRef: c}}", "tls.clientCert", 25, "add clientKey"),
    ],
)
def test_invalid_mqtt(line: str, path: str, col: int, fragment: str) -> None:
    expect(problems(MQTT + f"    {line}\n"), {f"spec.cloud.mqtt.{path}": (8, col, fragment)})


def test_client_id_length_under_mqtt_31() -> None:
    found = problems(MQTT + "    protocolVersion: 3.1\n    clientId: a-client-id-of-25-chars-x\n")
    expect(found, {"spec.cloud.mqtt.clientId": (9, 17, "at most 23 characters, not 25")})


def test_mqtt_needs_a_host() -> None:
    found = problems("cloud:\n  mqtt: {port: 1883}\n")
    expect(found, {"spec.cloud.mqtt.host": (6, 5, "required field is missing")})


def test_update_switches_off_with_false() -> None:
    body = """\
        update:
          allowReboot: false
          autoScan: false
          rebootSchedule: "0 4 * * 0,3"
        """
    assert problems(body) == []


@pytest.mark.parametrize(
    ("line", "path", "col", "fragment"),
    [
        ('autoScan: "0 3 * *"', "autoScan", 15, "not a valid 5-field cron expression"),
        ("autoScan: true", "autoScan", 15, "expected a 5-field cron expression or false"),
        ("rebootSchedule: 5", "rebootSchedule", 21, "expected a 5-field cron expression"),
        ('rebootSchedule: "61 * * * *"', "rebootSchedule", 21, "not a valid 5-field cron"),
        ("allowUpdate: maybe", "allowUpdate", 18, "valid boolean"),
        ("allowOverCelular: true", "allowOverCelular", 5, "did you mean 'allowOverCellular'?"),
        (
            'maintenanceWindow: {cron: "0 2 * * 0", durationMinutes: 1441}',
            "maintenanceWindow.durationMinutes",
            61,
            "less than or equal to 1440",
        ),
        (
            'maintenanceWindow: {cron: "0 2 * * 0", durationMinutes: 0}',
            "maintenanceWindow.durationMinutes",
            61,
            "greater than or equal to 1",
        ),
        (
            'maintenanceWindow: {cron: "0 2 * *", durationMinutes: 60}',
            "maintenanceWindow.cron",
            31,
            "not a valid 5-field cron expression",
        ),
        (
            'maintenanceWindow: {cron: "0 2 * * 0"}',
            "maintenanceWindow.durationMinutes",
            5,
            "required field is missing",
        ),
    ],
)
def test_invalid_update(line: str, path: str, col: int, fragment: str) -> None:
    expect(problems(f"update:\n  {line}\n"), {f"spec.update.{path}": (6, col, fragment)})


@pytest.mark.parametrize(
    ("cron", "fragment"),
    [
        ("30 3 * * 0", "not '30 3 * * 0'; did you mean '0 3 * * 0'?"),
        ("0 3 * * *", "did you mean '0 3 * * 0,1,2,3,4,5,6'?"),
        ("0 12 * * 1", "AIG-302 reboots only at minute 0 of one hour 0..9"),
        ("0 3 1 * 1", "did you mean '0 3 * * 1'?"),
    ],
)
def test_reboot_schedule_held_to_the_gateways_limits(cron: str, fragment: str) -> None:
    """The gateway doc's cronSchedule: minute 0, hours 0..9, listed weekdays (AIG-302)."""
    found = problems(f'update:\n  rebootSchedule: "{cron}"\n')
    expect(found, {"spec.update.rebootSchedule": (6, 21, fragment)})


def test_reboot_schedule_without_an_allowed_hour_has_no_guess() -> None:
    [problem] = problems('update:\n  rebootSchedule: "0 12 * * 1"\n')
    assert problem.message.endswith("not '0 12 * * 1'"), problem.message


def test_reboot_schedule_any_cron_on_a_model_without_the_limit() -> None:
    text = HEAD.replace("AIG-302", "UNO-2484G") + '  update:\n    rebootSchedule: "30 23 * * *"\n'
    _, found = validate_device_document(parse_document(text, "f.yaml"))
    assert found == []
