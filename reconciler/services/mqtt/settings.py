"""The connection the spec asks for: `cloud.mqtt` with its defaults applied and its secret
references resolved. Equality includes the secret values, so a rotated password or
certificate reconnects; repr never shows them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from reconciler.errors import OperationError
from reconciler.spec.base import SecretRef
from reconciler.spec.cloud import MqttSpec, StoreAndForward

MAX_KEEPALIVE = 65535
"""The MQTT keep-alive field is 16 bits; the doc's range ends at 65536."""
DEFAULT_WEBSOCKET_PATH = "/mqtt"


class SettingsError(OperationError):
    """The connection cannot be set up as written (a secret is missing, a PEM is bad)."""


@dataclass(frozen=True)
class TlsSettings:
    version: str
    """Lowest TLS version accepted: 1.0 .. 1.3."""
    insecure: bool
    """Accept any server certificate (insecureSkipVerify)."""
    ca_pem: str | None = field(default=None, repr=False)
    cert_pem: str | None = field(default=None, repr=False)
    key_pem: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class WillSettings:
    """The spec's own will (cloud.mqtt.willMessage), sent instead of the offline status."""

    topic: str
    payload: str
    qos: int
    retain: bool


@dataclass(frozen=True)
class StoreSettings:
    enable: bool
    """Keep messages made while disconnected (else they are dropped)."""
    max_bytes: int
    max_age_s: float
    drop_newest: bool
    send_delay_s: float

    @classmethod
    def from_spec(cls, spec: StoreAndForward | None) -> StoreSettings:
        """Without the block: nothing kept while offline, bounds at their defaults."""
        block = spec or StoreAndForward()
        return cls(
            enable=spec is not None and block.enable,
            max_bytes=block.max_size_mb * 1024 * 1024,
            max_age_s=block.max_age_hours * 3600.0,
            drop_newest=block.drop_policy == "newest",
            send_delay_s=block.send_delay_ms / 1000,
        )


@dataclass(frozen=True)
class Settings:
    device: str
    host: str
    port: int
    tls: TlsSettings | None
    websocket_path: str | None
    """None: MQTT over TCP; else the websocket endpoint's path."""
    username: str | None
    password: str | None = field(repr=False)
    client_id: str
    protocol: str
    """3.1, 3.1.1 or 5."""
    keepalive: int
    clean_session: bool
    qos: int
    retain: bool
    handshake_timeout_s: float
    retry_interval_s: float
    report_interval_s: float
    topic_prefix: str | None
    store: StoreSettings
    will: WillSettings | None = None
    """None: the broker's will is the uplink's offline status."""
    tls_path: str = "cloud.mqtt.tls"
    """The spec path that errors about the TLS material name."""
    routes: tuple[tuple[str, str], ...] | None = None
    """A cloud client kind's own topic per leaf (a leaf without one is not published);
    None: the uplink's <prefix>/<device>/<leaf> layout."""
    shadow_leaves: frozenset[str] = frozenset()
    """Leaves sent as a device-shadow update, {"state": {"reported": MESSAGE}} (AWS)."""
    alpn: tuple[str, ...] = ()
    """TLS ALPN protocols offered (AWS IoT Core's MQTT on port 443: x-amzn-mqtt-ca)."""
    sync: bool = True
    """Subscribe to sync triggers: only the agent's own uplink does."""
    sparkplug: tuple[str, str] | None = None
    """(groupId, nodeId) of a Sparkplug B edge node: NBIRTH on connect, NDEATH as the will,
    the messages as NDATA (services/mqtt/sparkplug.py)."""

    def topic(self, leaf: str) -> str | None:
        """Where `leaf` (status, events, state, telemetry, sync) goes; None: not published."""
        if self.routes is not None:
            return dict(self.routes).get(leaf)
        return "/".join(p for p in (self.topic_prefix, self.device, leaf) if p)

    def will_topic(self) -> str | None:
        """Where the will goes: a client kind's own "will" route, else the status topic."""
        own = dict(self.routes).get("will") if self.routes is not None else None
        return own or self.topic("status")

    def frame(self, leaf: str, payload: bytes) -> bytes:
        """The message as this connection sends it on `leaf`'s topic."""
        if leaf not in self.shadow_leaves:
            return payload
        return json.dumps({"state": {"reported": json.loads(payload)}}).encode()

    @property
    def fleet_sync_topic(self) -> str:
        return "/".join(p for p in (self.topic_prefix, "fleet", "sync") if p)


class SpecSecrets:
    """Secret look-ups for one block of the spec at `path`: a missing secret is a
    SettingsError that names the field asking for it."""

    def __init__(self, path: str, secrets: Callable[[str], str]) -> None:
        self.path = path
        self.secrets = secrets

    def __call__(self, ref: SecretRef | None, what: str) -> str | None:
        if ref is None:
            return None
        try:
            return self.secrets(ref.secret_ref)
        except LookupError as exc:
            raise SettingsError(f"{self.path}.{what}: {exc}") from None


def resolve(spec: MqttSpec, device: str, secrets: Callable[[str], str]) -> Settings:
    """The settings for an enabled spec; SettingsError names the secret that is missing."""
    secret = SpecSecrets("cloud.mqtt", secrets)
    tls = None
    if spec.tls is not None and spec.tls.enabled:
        tls = TlsSettings(
            version=spec.tls.version,
            insecure=spec.insecure_skip_verify,
            ca_pem=secret(spec.tls.ca_cert, "tls.caCert"),
            cert_pem=secret(spec.tls.client_cert, "tls.clientCert"),
            key_pem=secret(spec.tls.client_key, "tls.clientKey"),
        )
    return Settings(
        device=device,
        host=spec.host,
        port=spec.effective_port,
        tls=tls,
        websocket_path=(spec.websocket_path or DEFAULT_WEBSOCKET_PATH) if spec.websocket else None,
        username=spec.username,
        password=secret(spec.password, "password"),
        client_id=spec.client_id or device,
        protocol=spec.protocol_version,
        keepalive=min(spec.keep_alive_sec, MAX_KEEPALIVE),
        clean_session=spec.clean_session,
        qos=spec.qos,
        retain=spec.retain,
        handshake_timeout_s=float(spec.handshake_timeout_sec),
        retry_interval_s=float(spec.retry_interval_sec),
        report_interval_s=float(spec.report_interval_sec),
        topic_prefix=spec.topic_prefix,
        store=StoreSettings.from_spec(spec.store_and_forward),
        will=_will(spec),
    )


def _will(spec: MqttSpec) -> WillSettings | None:
    will = spec.will_message
    if will is None:
        return None
    return WillSettings(topic=will.topic, payload=will.payload, qos=will.qos, retain=will.retain)
