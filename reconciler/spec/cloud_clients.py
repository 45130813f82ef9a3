"""Cloud clients besides the agent's own uplink: the gateway doc's list of MQTT clients and
its AWS IoT Core, Azure IoT Hub (azure_device) and Sparkplug B groups, as named items of
`cloud.clients`, each holding exactly one kind block.

Field names, ranges and enums follow the doc (ThingsPro Cloud APIs); where the doc gives an
object without its fields (willMessage, remoteAPI, certificate, dhcp options of the same
doc), the fields here are what the protocol itself needs, and the description says so.
Keys, certificates and connection strings are secret references, never values.
"""

from collections.abc import Iterator
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from reconciler.spec.base import HostOrIp, Loc, Name, Port, SecretRef, SpecModel


def version_text(value: Any) -> Any:
    """Unquoted YAML versions are numbers (3.1, 5, 1.2); compare them as the text they were."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return f"{value:g}" if value != int(value) else f"{int(value)}.0"
    if isinstance(value, int):
        return str(value)
    return value


TlsVersion = Annotated[Literal["1.0", "1.1", "1.2", "1.3"], BeforeValidator(version_text)]
"""The doc's tlsVersion enum; an unquoted 1.2 (a YAML number) means the same."""
KEEP_ALIVE = Field(default=60, ge=10, le=65536)
"""The doc's keepAliveSec range and default."""


def topic_problem(value: str) -> str | None:
    """Why `value` cannot be a topic a client publishes to, or None."""
    if "+" in value or "#" in value:
        return f"{value!r} contains an MQTT wildcard ('+' or '#'); not in a topic"
    if value.startswith("$"):
        return f"{value!r} starts with '$', which brokers reserve ($SYS/...)"
    if value.startswith("/") or value.endswith("/") or "//" in value:
        return f"{value!r} has an empty topic level: no leading, trailing or double '/'"
    if "\x00" in value:
        return "topic contains a NUL character"
    return None


def _topic(value: str) -> str:
    problem = topic_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


Topic = Annotated[str, Field(min_length=1, max_length=65535), AfterValidator(_topic)]
"""A topic to publish to: 1..65535 bytes (MQTT), no wildcards, no empty levels."""


def _sparkplug_id(value: str) -> str:
    for reserved in "+/#":
        if reserved in value:
            raise ValueError(f"{value!r} contains {reserved!r}, reserved in Sparkplug topics")
    return value


SparkplugId = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_sparkplug_id)]
"""Doc: 1..255 UTF-8 characters, without the reserved '+', '/' and '#'."""


class WillMessage(SpecModel):
    """What the broker publishes for the client when its connection drops without an MQTT
    DISCONNECT (doc: willMessage; the doc shows the object without its fields, these are the
    will fields of MQTT's CONNECT packet)."""

    topic: Topic
    """Topic the will is published to."""
    payload: str = Field(default="", max_length=65535)
    """Message text, e.g. {"online": false}; empty is allowed (MQTT)."""
    qos: Literal[0, 1, 2] = 0
    """Quality of service of the will: 0, 1 or 2."""
    retain: bool = False
    """Publish the will with the retain flag, so late subscribers see it."""


class RemoteApi(SpecModel):
    """The doc's remote-API switch: the gateway's REST API invoked over this client's
    connection (request/response pattern with request-expired-time and request-id headers).
    The doc shows only the switch; topics are the gateway's own."""

    enable: bool = False
    """Answer REST API requests arriving over MQTT."""


class Certificate(SpecModel):
    """X.509 material of a client (doc: certificate; its fields are not shown there, these
    are what TLS with a client certificate needs). Each is a secret reference to PEM text."""

    ca_cert: SecretRef | None = None
    """CA bundle that signs the broker's certificate; default the system's trust store."""
    client_cert: SecretRef | None = None
    """The client's certificate (AWS: the thing's certificate); needs clientKey."""
    client_key: SecretRef | None = None
    """Private key of clientCert."""


class ClientStoreAndForward(SpecModel):
    """Buffer this client's messages on disk while it is offline (doc: store and forward)."""

    enable: bool = True
    """Buffer while disconnected (the doc's default is off; writing this block turns it on)."""
    target_disk_name: Literal["System"] = "System"
    """Disk holding the buffer (doc: targetDiskName, "System" in its sample). Only System:
    no hardware profile lists another disk, and buffers live in the agent's state dir."""
    desired_disk_cache_size_mb: int = Field(
        default=8, ge=1, le=65536, alias="desiredDiskCacheSizeMB"
    )
    """Cache size in MiB (doc: desiredDiskCacheSizeMB, 8 in its sample)."""
    time_to_live_sec: int = Field(default=7200, ge=1, le=31_536_000)
    """Drop buffered messages older than this (doc: timeToLiveSec, 7200 in its sample;
    at most a year)."""
    drop_behavior: Literal["oldest", "newest"] = "oldest"
    """What to drop when the cache is full (doc: dropBehavior)."""
    send_delay_millsecond: int = Field(default=10, ge=10, le=1000)
    """Pause between replayed messages (doc: sendDelayMillsecond 10..1000, its spelling)."""


class _Broker(SpecModel):
    """Connection fields every MQTT broker entry of the doc has."""

    host: HostOrIp
    """Broker address or host name (doc: server)."""
    port: Port
    """Broker port (doc: port, required; the doc's 65536 is not a TCP port)."""
    keep_alive_sec: int = KEEP_ALIVE
    """Keep-alive interval in seconds (doc: keepAliveSec 10..65536, default 60)."""
    certificate_over_tls: bool = Field(default=False, alias="certificateOverTLS")
    """Connect with TLS (doc: certificateOverTLS)."""
    tls_version: TlsVersion = "1.2"
    """Lowest TLS version accepted (doc: tlsVersion, default 1.2)."""
    insecure_skip_verify: bool = False
    """Accept any server certificate; for lab brokers only (doc: insecureSkipVerify)."""
    client_id: str | None = Field(default=None, min_length=1, max_length=65535)
    """MQTT client id (doc: clientID; at most 23 characters with MQTT 3.1)."""
    user_name: str | None = Field(default=None, min_length=1, max_length=255)
    """User name (doc: userName, at most 255 characters)."""
    password: SecretRef | None = None
    """Password, resolved on the device (doc: password, at most 255 characters)."""
    certificate: Certificate | None = None
    """CA and client certificate (doc: certificate)."""


class MqttClient(_Broker):
    """A generic MQTT client (doc: mqtt, one entry of its list)."""

    protocol_version: Annotated[Literal["3.1", "3.1.1"], BeforeValidator(version_text)] = "3.1.1"
    """MQTT version (doc: protocolVersion 3.1 or 3.1.1)."""
    handshake_timeout: int = Field(default=10, ge=10, le=600)
    """Seconds to wait for a connection (doc: handshakeTimeout 10..600)."""
    retry_interval: int = Field(default=60, ge=10, le=3600)
    """Seconds between reconnect attempts (doc: retryInterval 10..3600)."""
    clear_session: bool = True
    """Start a fresh session on every connect (doc: clearSession)."""
    qos: Literal[0, 1, 2] = 1
    """Quality of service of published messages (doc: qos 0, 1 or 2)."""
    retain: bool = False
    """Publish with the retain flag (doc: retain)."""
    will_message: WillMessage | None = None
    """Published by the broker when this client's connection is lost (doc: willMessage)."""
    remote_api: RemoteApi | None = None
    """Invoke the REST API over this connection (doc: remoteAPI)."""


class AwsIotCore(SpecModel):
    """AWS IoT Core (doc: aws). AWS authenticates a thing by its X.509 certificate over
    TLS on port 8883 (or 443 with ALPN), so certificate.clientCert/clientKey are required."""

    endpoint: HostOrIp
    """The account's device data endpoint, e.g. abc123-ats.iot.eu-west-1.amazonaws.com."""
    port: Literal[8883, 443] = 8883
    """8883 (MQTT over TLS) or 443 (MQTT with ALPN x-amzn-mqtt-ca), what AWS accepts."""
    thing_name: Name
    """The thing's name, sent as the MQTT client id."""
    certificate: Certificate
    """The thing's certificate and key (required) and Amazon's root CA."""
    shadow: bool = False
    """Report the device's state to the thing's shadow (doc: shadow properties)."""


class AzureDevice(SpecModel):
    """Azure IoT Hub device (doc: azure_device). The connection string holds the
    shared access key, so it is a secret reference."""

    connection_string: SecretRef
    """The device connection string (doc: connectionString, 1..1024 characters)."""
    protocol: Literal["mqtt", "mqttOverWebsocket", "amqp", "amqpOverWebsocket"] = "mqtt"
    """Transport to the hub (doc: protocol enum)."""
    certificate: Certificate | None = None
    """X.509 authentication instead of the key: caCert is the doc's rootCaCertFile,
    clientCert its caCertFile and clientKey its caPkFile."""
    twin: bool = False
    """Report the device's state as twin reported properties (doc: twin properties)."""


class SparkplugBroker(_Broker):
    """One broker of the Sparkplug node (doc: sparkplug brokers)."""

    name: Name
    """Unique within the node; the doc numbers brokers, a name merges across fleet files."""
    enable: bool = True
    """Use this broker (doc: enable)."""


class Sparkplug(SpecModel):
    """A Sparkplug B edge node (doc: sparkplug)."""

    group_id: SparkplugId
    """Sparkplug group (doc: groupID, required)."""
    node_id: SparkplugId
    """Edge node id (doc: nodeID, required)."""
    enable_dm: bool = False
    """Publish device metrics of the gateway's devices (doc: enableDM)."""
    uuid: str = Field(default="", max_length=255)
    """Schema UUID carried in messages (doc: uuid, 0..255 characters)."""
    primary_host_id: str = Field(default="", max_length=255)
    """Primary host application to follow (doc: primaryHostID, 0..255 characters)."""
    handshake_timeout: int = Field(default=10, ge=1, le=600)
    """Seconds to wait for a connection (doc: handshakeTimeout 1..600)."""
    max_retries: int = Field(default=3, ge=0, le=60)
    """Connection attempts per broker before the next (doc: maxRetries 0..60)."""
    retry_interval: int = Field(default=60, ge=10, le=3600)
    """Seconds between attempts (doc: retryInterval 10..3600)."""
    brokers: list[SparkplugBroker] = Field(min_length=1)
    """The brokers, tried in order."""


KINDS = ("mqtt", "aws", "azureDevice", "sparkplug")
"""The kind blocks of a client; exactly one per client."""


class CloudClient(SpecModel):
    """One named cloud client; give exactly one of mqtt, aws, azureDevice or sparkplug."""

    name: Name
    """Unique among clients; merged, planned and pruned by it (the doc numbers them)."""
    enable: bool = True
    """Connect; false keeps the settings (doc: enable)."""
    mqtt: MqttClient | None = None
    """A generic MQTT broker (doc: mqtt)."""
    aws: AwsIotCore | None = None
    """AWS IoT Core (doc: aws)."""
    azure_device: AzureDevice | None = None
    """Azure IoT Hub (doc: azure_device)."""
    sparkplug: Sparkplug | None = None
    """Sparkplug B (doc: sparkplug)."""
    store_and_forward: ClientStoreAndForward | None = None
    """Buffer while offline (doc: store and forward, in each of the four groups)."""

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        given = [k for k in KINDS if getattr(self, _attr(k)) is not None]
        if len(given) != 1:
            which = ", ".join(given) if given else "none"
            raise ValueError(f"give exactly one of {', '.join(KINDS)} (got {which})")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, _attr(k)) is not None)


def _attr(kind: str) -> str:
    return "azure_device" if kind == "azureDevice" else kind


def _broker_problems(broker: _Broker, v31: bool) -> Iterator[tuple[Loc, str]]:
    cert = broker.certificate
    if cert is not None and (cert.client_cert is None) != (cert.client_key is None):
        missing = "clientKey" if cert.client_key is None else "clientCert"
        present = "clientCert" if missing == "clientKey" else "clientKey"
        yield ("certificate", present), f"a client certificate needs both; add {missing}"
    if broker.insecure_skip_verify and not broker.certificate_over_tls:
        yield ("insecureSkipVerify",), "only applies with certificateOverTLS: true"
    if broker.password is not None and broker.user_name is None:
        yield ("password",), "a password needs a userName"
    if v31 and broker.client_id is not None and len(broker.client_id) > 23:
        yield ("clientId",), f"MQTT 3.1 allows at most 23 characters, not {len(broker.client_id)}"


def _kind_problems(client: CloudClient) -> Iterator[tuple[Loc, str]]:
    if client.mqtt is not None:
        for loc, msg in _broker_problems(client.mqtt, client.mqtt.protocol_version == "3.1"):
            yield ("mqtt", *loc), msg
    if client.aws is not None:
        cert = client.aws.certificate
        for key, ref in (("clientCert", cert.client_cert), ("clientKey", cert.client_key)):
            if ref is None:
                yield (
                    ("aws", "certificate"),
                    f"AWS IoT Core authenticates by certificate; add {key}",
                )
                break
    if client.sparkplug is not None:
        for i, broker in enumerate(client.sparkplug.brokers):
            for loc, msg in _broker_problems(broker, False):
                yield ("sparkplug", "brokers", i, *loc), msg
    azure = client.azure_device
    if azure is not None and azure.certificate is not None:
        cert = azure.certificate
        if (cert.client_cert is None) != (cert.client_key is None):
            yield ("azureDevice", "certificate"), "X.509 needs both clientCert and clientKey"


def client_problems(clients: list[CloudClient]) -> Iterator[tuple[Loc, str]]:
    """Cross-field checks of every client, located under `clients` at the field to change."""
    for i, client in enumerate(clients):
        for loc, msg in _kind_problems(client):
            yield ("clients", i, *loc), msg
