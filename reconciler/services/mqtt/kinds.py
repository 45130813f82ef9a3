"""Each cloud client kind (`cloud.clients[*]`) as connection Settings for the uplink's own
machinery: host, port, TLS and client certificate, user name and password, client id and the
kind's topic layout. Pure: secrets come from the caller, and so does the clock (Azure).

Topics, per kind (the messages are the uplink's documented JSON messages):
- mqtt: `<device>/status|events|state|telemetry`, as the uplink without a topic prefix;
- aws: `things/<thingName>/status|events|telemetry`; the state goes to the thing's shadow,
  `$aws/things/<thingName>/shadow/update` as `{"state": {"reported": ...}}`, with
  `shadow: true`, else to `things/<thingName>/state`;
- sparkplug: an edge node on its first enabled broker: NBIRTH on
  `spBv1.0/<groupId>/NBIRTH/<nodeId>` at each connect, the status, state and telemetry as
  NDATA metrics, NDEATH (bdSeq) as the will (services/mqtt/sparkplug.py);
- azureDevice: every message is a device-to-cloud message on
  `devices/<deviceId>/messages/events/` with the property `kind=<leaf>`; with `twin: true`
  the state is the twin's reported properties (`$iothub/twin/PATCH/properties/reported/`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from reconciler.services.mqtt import sparkplug
from reconciler.services.mqtt.azure import (
    ConnectionStringError,
    parse_connection_string,
    sas_token,
    token_expiry,
)
from reconciler.services.mqtt.settings import (
    Settings,
    SettingsError,
    SpecSecrets,
    StoreSettings,
    TlsSettings,
    WillSettings,
)
from reconciler.spec.cloud_clients import (
    AwsIotCore,
    AzureDevice,
    Certificate,
    ClientStoreAndForward,
    CloudClient,
    MqttClient,
    Sparkplug,
    SparkplugBroker,
)

Secrets = Callable[[str], str]
LEAVES = ("status", "events", "state", "telemetry")
REPORT_INTERVAL_S = 60.0
"""Telemetry period of a client (the kinds' doc groups have no polling interval)."""
AWS_ALPN = "x-amzn-mqtt-ca"
"""AWS IoT Core: MQTT with a client certificate on port 443 needs this ALPN protocol."""
AZURE_PORT, AZURE_WS_PORT, AZURE_WS_PATH = 8883, 443, "/$iothub/websocket"
AZURE_TWIN_TOPIC = "$iothub/twin/PATCH/properties/reported/?$rid=1"


class Resolver(SpecSecrets):
    """Secret look-ups that name the client's field when a secret is missing."""

    def __init__(self, client: CloudClient, secrets: Secrets) -> None:
        super().__init__(f"cloud.clients[{client.name}].{client.kind}", secrets)
        self.name = client.name

    def tls(self, cert: Certificate | None, version: str, insecure: bool) -> TlsSettings:
        cert = cert or Certificate()
        return TlsSettings(
            version=version,
            insecure=insecure,
            ca_pem=self(cert.ca_cert, "certificate.caCert"),
            cert_pem=self(cert.client_cert, "certificate.clientCert"),
            key_pem=self(cert.client_key, "certificate.clientKey"),
        )


def resolve(
    client: CloudClient, device: str, secrets: Secrets, now: float | None = None
) -> Settings:
    """The connection an enabled client asks for; SettingsError says what is missing."""
    resolver = Resolver(client, secrets)
    store = store_settings(client.store_and_forward)
    if client.mqtt is not None:
        return generic(client.mqtt, device, resolver, store)
    if client.aws is not None:
        return aws(client.aws, device, resolver, store)
    if client.azure_device is not None:
        return azure(
            client.azure_device, device, resolver, store, time.time() if now is None else now
        )
    assert client.sparkplug is not None  # CloudClient holds exactly one kind
    return edge_node(client.sparkplug, device, resolver, store)


def store_settings(spec: ClientStoreAndForward | None) -> StoreSettings:
    """Without the block nothing is kept while offline (the doc's default)."""
    block = spec or ClientStoreAndForward()
    return StoreSettings(
        enable=spec is not None and block.enable,
        max_bytes=block.desired_disk_cache_size_mb * 1024 * 1024,
        max_age_s=float(block.time_to_live_sec),
        drop_newest=block.drop_behavior == "newest",
        send_delay_s=block.send_delay_millsecond / 1000,
    )


def generic(spec: MqttClient, device: str, secret: Resolver, store: StoreSettings) -> Settings:
    """A generic broker, field for field as the doc's mqtt entry says; the client id
    defaults to <device>-<client name>, since the agent's uplink is <device> already."""
    will = spec.will_message
    return Settings(
        device=device,
        host=spec.host,
        port=spec.port,
        tls=(
            secret.tls(spec.certificate, spec.tls_version, spec.insecure_skip_verify)
            if spec.certificate_over_tls
            else None
        ),
        websocket_path=None,
        username=spec.user_name,
        password=secret(spec.password, "password"),
        client_id=spec.client_id or f"{device}-{secret.name}",
        protocol=spec.protocol_version,
        keepalive=min(spec.keep_alive_sec, 65535),
        clean_session=spec.clear_session,
        qos=spec.qos,
        retain=spec.retain,
        handshake_timeout_s=float(spec.handshake_timeout),
        retry_interval_s=float(spec.retry_interval),
        report_interval_s=REPORT_INTERVAL_S,
        topic_prefix=None,
        store=store,
        will=(
            WillSettings(will.topic, will.payload, will.qos, will.retain)
            if will is not None
            else None
        ),
        tls_path=f"{secret.path}.certificate",
        routes=tuple((leaf, f"{device}/{leaf}") for leaf in LEAVES),
        sync=False,
    )


def aws(spec: AwsIotCore, device: str, secret: Resolver, store: StoreSettings) -> Settings:
    """AWS IoT Core: TLS with the thing's certificate, client id = thing name, QoS 1 (AWS
    has no QoS 2)."""
    base = f"things/{spec.thing_name}"
    routes = {leaf: f"{base}/{leaf}" for leaf in LEAVES}
    if spec.shadow:
        routes["state"] = f"$aws/things/{spec.thing_name}/shadow/update"
    tls = secret.tls(spec.certificate, "1.2", False)
    settings = _hub(
        device,
        store,
        (spec.endpoint, spec.port, tls),
        spec.thing_name,
        routes,
        f"{secret.path}.certificate",
    )
    return replace(
        settings,
        shadow_leaves=frozenset({"state"} if spec.shadow else ()),
        alpn=(AWS_ALPN,) if spec.port == 443 else (),
    )


def azure(
    spec: AzureDevice, device: str, secret: Resolver, store: StoreSettings, now: float
) -> Settings:
    """Azure IoT Hub over MQTT (or MQTT over websockets): SAS token from the key, or X.509."""
    if spec.protocol.startswith("amqp"):
        raise SettingsError(f"{secret.path}.protocol: the agent speaks MQTT; use mqtt")
    try:
        conn = parse_connection_string(secret(spec.connection_string, "connectionString") or "")
    except ConnectionStringError as exc:
        raise SettingsError(f"{secret.path}.connectionString: {exc}") from None
    if conn.key is None and (spec.certificate is None or spec.certificate.client_cert is None):
        raise SettingsError(f"{secret.path}: x509=true needs certificate.clientCert/clientKey")
    events = f"devices/{conn.device_id}/messages/events/"
    routes = {leaf: f"{events}kind={leaf}" for leaf in LEAVES}
    if spec.twin:
        routes["state"] = AZURE_TWIN_TOPIC
    ws = spec.protocol == "mqttOverWebsocket"
    tls = secret.tls(spec.certificate, "1.2", False)
    settings = _hub(
        device,
        store,
        (conn.host, AZURE_WS_PORT if ws else AZURE_PORT, tls),
        conn.device_id,
        routes,
        f"{secret.path}.certificate",
    )
    token = sas_token(conn.resource_uri, conn.key, token_expiry(now)) if conn.key else None
    return replace(
        settings,
        username=conn.username,
        password=token,
        websocket_path=AZURE_WS_PATH if ws else None,
    )


def edge_node(spec: Sparkplug, device: str, secret: Resolver, store: StoreSettings) -> Settings:
    """A Sparkplug B edge node on its first enabled broker: QoS 0 and no retain (the
    specification's for NBIRTH, NDATA and NDEATH); clean session."""
    brokers = [b for b in spec.brokers if b.enable]
    if not brokers:
        raise SettingsError(f"{secret.path}.brokers: none is enabled")
    broker = brokers[0]
    ndata = sparkplug.topic(spec.group_id, "NDATA", spec.node_id)
    routes = {leaf: ndata for leaf in ("status", "state", "telemetry")}
    routes["will"] = sparkplug.topic(spec.group_id, "NDEATH", spec.node_id)
    settings = replace(
        generic(_as_mqtt(broker), device, secret, store),
        qos=0,
        retain=False,
        clean_session=True,
        handshake_timeout_s=float(spec.handshake_timeout),
        retry_interval_s=float(spec.retry_interval),
        tls_path=f"{secret.path}.brokers[{broker.name}].certificate",
        routes=tuple(routes.items()),
        sparkplug=(spec.group_id, spec.node_id),
    )
    return settings


def _as_mqtt(broker: SparkplugBroker) -> MqttClient:
    """A broker entry read as a generic client (they share the doc's server fields)."""
    fields = broker.model_dump(by_alias=True, exclude={"name", "enable"})
    return MqttClient.model_validate(fields)


def _hub(
    device: str,
    store: StoreSettings,
    endpoint: tuple[str, int, TlsSettings],
    client_id: str,
    routes: dict[str, str],
    tls_path: str,
) -> Settings:
    """Settings of a cloud hub: TLS, MQTT 3.1.1, QoS 1, no retain, clean session."""
    host, port, tls = endpoint
    return Settings(
        device=device,
        host=host,
        port=port,
        tls=tls,
        websocket_path=None,
        username=None,
        password=None,
        client_id=client_id,
        protocol="3.1.1",
        keepalive=60,
        clean_session=True,
        qos=1,
        retain=False,
        handshake_timeout_s=10.0,
        retry_interval_s=60.0,
        report_interval_s=REPORT_INTERVAL_S,
        topic_prefix=None,
        store=store,
        tls_path=tls_path,
        routes=tuple(routes.items()),
        sync=False,
    )
