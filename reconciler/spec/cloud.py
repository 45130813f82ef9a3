"""Cloud uplink: the MQTT connection the agent keeps to a broker, with store-and-forward.

Ranges and defaults follow the gateway doc (ThingsPro Cloud APIs, mqtt client and store and
forward) and the platform portal's /edgehub/api/conncfg (enableTLS, overWebSocket,
skipCertVerify). The agent runs this uplink itself, so unset fields take the defaults below.
"""

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from reconciler.spec.base import HostOrIp, Loc, Port, SecretRef, SpecModel
from reconciler.spec.cloud_clients import (
    CloudClient,
    WillMessage,
    client_problems,
    topic_problem,
    version_text,
)


def _protocol_version(value: Any) -> Any:
    value = version_text(value)
    return {"5.0": "5", "3.1.1.0": "3.1.1"}.get(value, value) if isinstance(value, str) else value


class MqttTls(SpecModel):
    """TLS settings; `tls: true` is short for `tls: {enabled: true}`."""

    enabled: bool = True
    """Use TLS (mqtts, or wss over websocket); portal: enableTLS."""
    version: Annotated[Literal["1.0", "1.1", "1.2", "1.3"], BeforeValidator(version_text)] = "1.2"
    """Lowest TLS version accepted (doc: tlsVersion, default 1.2)."""
    ca_cert: SecretRef | None = None
    """PEM bundle of CAs to trust instead of the system store (portal: caCerts)."""
    client_cert: SecretRef | None = None
    """PEM client certificate for mutual TLS; needs clientKey (portal: mqttCert)."""
    client_key: SecretRef | None = None
    """PEM private key of clientCert (portal: mqttKey)."""


def _tls(value: Any) -> Any:
    if isinstance(value, bool):
        return {"enabled": value}
    if not isinstance(value, dict | MqttTls):
        raise ValueError(f"expected true, false or a mapping of TLS settings, not {value!r}")
    return value


class StoreAndForward(SpecModel):
    """Buffer messages on disk while the broker is unreachable and replay them later."""

    enable: bool = True
    """Buffer while disconnected (the doc's default is off; writing this block turns it on)."""
    target_disk_name: Literal["System"] = "System"
    """Disk holding the buffer (doc: targetDiskName, "System" in its sample). Only System:
    the uplink keeps its queue in the agent's state dir, and no hardware profile lists
    another disk."""
    max_size_mb: int = Field(default=8, ge=1, le=65536, alias="maxSizeMB")
    """Disk cache size in MiB (doc: desiredDiskCacheSizeMB; 8 in its sample)."""
    max_age_hours: int = Field(default=24, ge=1, le=8760)
    """Drop buffered messages older than this (doc: timeToLiveSec in seconds; docs give no
    default, one day covers a typical outage)."""
    drop_policy: Literal["oldest", "newest"] = "oldest"
    """What to drop when the cache is full (doc: dropBehavior)."""
    send_delay_ms: int = Field(default=10, ge=10, le=1000)
    """Pause between replayed messages so a reconnect does not flood the broker (doc)."""


class MqttSpec(SpecModel):
    enabled: bool = True
    """Keep the connection up; false disconnects but keeps the settings (doc: enable)."""
    host: HostOrIp
    """Broker address or host name (doc: server; portal: mqttHost)."""
    port: Port | None = None
    """Broker port; default 1883, 8883 with TLS, 80/443 over websocket."""
    tls: Annotated[MqttTls, BeforeValidator(_tls, json_schema_input_type=bool | MqttTls)] | None = (
        None
    )
    """true/false, or TLS settings (doc: certificateOverTLS, tlsVersion)."""
    insecure_skip_verify: bool = False
    """Accept any server certificate. An explicit opt-in for lab brokers only (doc)."""
    username: str | None = Field(default=None, min_length=1, max_length=255)
    """User name presented to the broker (doc: userName, at most 255 characters)."""
    password: SecretRef | None = None
    """Broker password, resolved on the device; the client must send it, so no hash here."""
    client_id: str | None = Field(default=None, min_length=1, max_length=65535)
    """MQTT client id; default the device name (doc: at most 23 characters with MQTT 3.1)."""
    topic_prefix: str | None = Field(default=None, min_length=1, max_length=1024)
    """Prefix of every topic the device publishes, e.g. plants/a; no wildcards."""
    keep_alive_sec: int = Field(default=60, ge=10, le=65536)
    """Keep-alive interval in seconds (doc: keepAliveSec 10..65536, default 60)."""
    qos: Literal[0, 1, 2] = 1
    """Quality of service of published messages (doc: 0, 1 or 2, default 1)."""
    retain: bool = False
    """Publish with the retain flag (doc: retain)."""
    clean_session: bool = True
    """Start a fresh session on every connect (doc: clearSession, default true)."""
    protocol_version: Annotated[
        Literal["3.1", "3.1.1", "5"], BeforeValidator(_protocol_version)
    ] = "3.1.1"
    """MQTT version: 3.1, 3.1.1 (default) or 5; the gateway doc lists only 3.1 and 3.1.1."""
    websocket: bool = False
    """Tunnel MQTT through a websocket (portal: overWebSocket)."""
    websocket_path: str | None = Field(default=None, pattern=r"^/[^\s]*$")
    """HTTP path of the websocket endpoint, e.g. /mqtt (docs silent; default /mqtt)."""
    handshake_timeout_sec: int = Field(default=10, ge=10, le=600)
    """Give up a connection attempt after this long (doc: handshakeTimeout 10..600)."""
    retry_interval_sec: int = Field(default=60, ge=10, le=3600)
    """Wait between reconnect attempts (doc: retryInterval 10..3600, default 60)."""
    report_interval_sec: int = Field(default=10, ge=0, le=86400)
    """Publish the device's state every this many seconds; 0 publishes on change only
    (doc: message group pollingInterval 0..86400, default 10)."""
    store_and_forward: StoreAndForward | None = None
    """Buffer messages while the broker is unreachable."""
    will_message: WillMessage | None = None
    """Your own will (doc: willMessage). MQTT carries one will per connection, so this
    replaces the uplink's default will (a retained offline status on <prefix>/<device>/status
    that `fleet status` reads): leave it out to keep fleet status' lost-connection signal."""

    @field_validator("topic_prefix")
    @classmethod
    def _topic_prefix(cls, value: str | None) -> str | None:
        problem = None if value is None else topic_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @property
    def effective_port(self) -> int:
        """The port the uplink connects to, with the defaults applied."""
        if self.port is not None:
            return self.port
        secure = self.tls is not None and self.tls.enabled
        if self.websocket:
            return 443 if secure else 80
        return 8883 if secure else 1883


class CloudSpec(SpecModel):
    mqtt: MqttSpec | None = None
    """The MQTT uplink to a broker."""
    clients: list[CloudClient] | None = None
    """More cloud connections (the doc's list of MQTT clients, AWS IoT Core, Azure IoT Hub,
    Sparkplug B), apart from the agent's own uplink `mqtt`. Recorded on sim; the linux
    backend reports them unavailable (the agent runs only its uplink, and a Debian host has
    none of these vendors' clients)."""
    prune: bool = False
    """Remove clients this reconciler created earlier that are gone from `clients`."""


def document_problems(spec: CloudSpec) -> Iterator[tuple[Loc, str]]:
    """Settings that contradict each other, located at the one to change."""
    yield from client_problems(spec.clients or [])
    if spec.mqtt is not None:
        yield from _uplink_problems(spec.mqtt)


def _uplink_problems(mqtt: MqttSpec) -> Iterator[tuple[Loc, str]]:
    tls = mqtt.tls if mqtt.tls is not None and mqtt.tls.enabled else None
    if mqtt.insecure_skip_verify and tls is None:
        yield ("mqtt", "insecureSkipVerify"), "only applies with tls enabled"
    if tls is not None and (tls.client_cert is None) != (tls.client_key is None):
        missing = "clientKey" if tls.client_key is None else "clientCert"
        present = "clientCert" if missing == "clientKey" else "clientKey"
        yield (
            ("mqtt", "tls", present),
            f"mutual TLS needs both clientCert and clientKey; add {missing}",
        )
    if mqtt.password is not None and mqtt.username is None:
        yield ("mqtt", "password"), "a password needs a username"
    if mqtt.protocol_version == "3.1" and mqtt.client_id is not None and len(mqtt.client_id) > 23:
        yield (
            ("mqtt", "clientId"),
            f"MQTT 3.1 allows at most 23 characters, not {len(mqtt.client_id)}",
        )
    if mqtt.websocket_path is not None and not mqtt.websocket:
        yield ("mqtt", "websocketPath"), "only applies with websocket: true"
