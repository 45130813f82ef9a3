"""The fleet's view of a broker: a URL plus the uplink's TLS and credential options, and
the one thing the fleet commands need from it, the retained messages under some topics.

Knowing when the retained burst is over needs no sleep: after subscribing, the client
subscribes to a topic of its own and publishes a marker there. A broker delivers a
client's messages in order, so the marker arrives after every retained message the first
subscription released. The subscriptions are QoS 0: nothing is kept for us between
connections, a broker's in-flight window does not throttle the burst, and a clustered
broker (NATS) needs no durable consumer for them.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from reconciler.errors import OperationError
from reconciler.services.mqtt.client import describe_failure, tls_context
from reconciler.services.mqtt.settings import TlsSettings

SCHEMES = {
    "mqtt": ("tcp", False, 1883),
    "mqtts": ("tcp", True, 8883),
    "ws": ("websockets", False, 80),
    "wss": ("websockets", True, 443),
}
MARKER_LEAF = "fleet/marker"
"""Under the prefix: `<prefix>/fleet/...` is the fleet's own namespace (not a device)."""


class BrokerError(OperationError):
    """The broker cannot be reached, refused us, or the URL/options are unusable."""


@dataclass(frozen=True)
class BrokerOptions:
    """Where and how to connect: what `--broker URL` and its TLS/credential flags say."""

    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_cert: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    insecure: bool = False
    timeout_s: float = 30.0
    client_id: str = field(default_factory=lambda: f"reconcile-fleet-{uuid.uuid4().hex[:12]}")
    tls_settings: TlsSettings | None = field(default=None, repr=False)
    """TLS as the uplink's settings say (PEMs resolved from secrets); overrides the files."""

    @property
    def endpoint(self) -> tuple[str, str, int, bool, str]:
        """(transport, host, port, tls, websocket path) from the URL."""
        parts = urlsplit(self.url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise BrokerError(
                f"--broker {self.url!r}: expected mqtt://HOST[:PORT], mqtts://, ws:// or wss://"
            )
        transport, tls, default_port = SCHEMES[parts.scheme]
        try:
            port = parts.port or default_port
        except ValueError:
            raise BrokerError(f"--broker {self.url!r}: the port is not a number") from None
        return transport, parts.hostname, port, tls, parts.path or "/mqtt"


def _pem(path: Path | None, what: str) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BrokerError(f"{what} {path}: cannot read it ({exc})") from None


def open_client(options: BrokerOptions) -> mqtt.Client:
    """A connected MQTT 3.1.1 client (clean session) with its network loop not started."""
    transport, host, port, tls, path = options.endpoint
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=options.client_id,
        clean_session=True,
        protocol=mqtt.MQTTv311,
        transport=transport,  # type: ignore[arg-type]
        reconnect_on_failure=False,
    )
    if transport == "websockets":
        client.ws_set_options(path=path)
    if options.tls_settings is not None:
        client.tls_set_context(tls_context(options.tls_settings))
    elif tls or options.ca_cert or options.client_cert:
        settings = TlsSettings(
            version="1.2",
            insecure=options.insecure,
            ca_pem=_pem(options.ca_cert, "--ca-cert"),
            cert_pem=_pem(options.client_cert, "--client-cert"),
            key_pem=_pem(options.client_key, "--client-key"),
        )
        client.tls_set_context(tls_context(settings))
    if options.username is not None:
        client.username_pw_set(options.username, options.password)
    client.connect_timeout = options.timeout_s
    try:
        client.connect(host, port, keepalive=60)
    except Exception as exc:  # OSError, ssl errors: one sentence for the operator
        raise BrokerError(describe_failure(exc, host, port, options.timeout_s)) from None
    return client


Handler = Callable[[str, bytes], None]


class RetainedReader:
    """Subscribes to `topics`, hands every message to `on_message`, and sets `caught_up`
    once the marker published after the subscription has come back."""

    def __init__(
        self, options: BrokerOptions, prefix: str, topics: list[str], on_message: Handler
    ) -> None:
        self.options = options
        self.topics = topics
        self.marker = "/".join(p for p in (prefix, MARKER_LEAF, uuid.uuid4().hex) if p)
        self.caught_up = threading.Event()
        self.accepted = False
        """The broker answered CONNECT (with yes or no): a failure now is not a hiccup."""
        self.failed: str | None = None
        self.on_message = on_message
        self._subscribe_mids: dict[int, str] = {}
        self.client = open_client(options)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.accepted = True
        if reason.is_failure:
            self.failed = f"the broker refused the connection ({reason})"
            return
        _rc, mid = client.subscribe([(topic, 0) for topic in self.topics])
        self._subscribe_mids[mid or 0] = "topics"

    def _on_subscribe(self, client: mqtt.Client, _u: Any, mid: int, codes: Any, _p: Any) -> None:
        if any(code.is_failure for code in codes):
            self.failed = f"the broker refused the subscription to {', '.join(self.topics)}"
            return
        if self._subscribe_mids.pop(mid, None) == "topics":
            _rc, marker_mid = client.subscribe(self.marker, 0)
            self._subscribe_mids[marker_mid or 0] = "marker"
        else:
            client.publish(self.marker, b"", qos=0)

    def _on_message(self, _client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == self.marker:
            self.caught_up.set()
            return
        self.on_message(msg.topic, bytes(msg.payload))

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not self.caught_up.is_set() or reason.is_failure:
            self.failed = self.failed or f"the broker closed the connection ({reason})"

    def run_until(
        self, done: Callable[[], bool], tick: Callable[[], None] | None = None, deadline: float = 0
    ) -> None:
        """Run the network loop in this thread until `done()` or a failure (BrokerError);
        until caught up, at most until `deadline` (monotonic; default: the timeout)."""
        deadline = deadline or time.monotonic() + self.options.timeout_s
        while not done():
            if self.failed:
                raise BrokerError(self.failed)
            if not self.caught_up.is_set() and time.monotonic() > deadline:
                raise BrokerError(
                    f"{self.options.url}: no answer within {self.options.timeout_s:g} s"
                )
            rc = self.client.loop(timeout=0.1)
            if rc != mqtt.MQTT_ERR_SUCCESS and not self.failed:
                self.failed = f"lost the connection to {self.options.url} ({mqtt.error_string(rc)})"
            if tick is not None:
                tick()

    def close(self) -> None:
        close_client(self.client)


def read_retained(
    options: BrokerOptions,
    prefix: str,
    topics: list[str],
    on_message: Handler,
    tick: Callable[[], None] | None = None,
) -> RetainedReader:
    """A reader that has delivered every retained message under `topics`. A broker that
    drops the connection before answering it (a cluster node waiting for a new leader) is
    tried again, with backoff, until the timeout; a refusal is final."""
    deadline = time.monotonic() + options.timeout_s
    delay = 0.5
    while True:
        reader = RetainedReader(options, prefix, topics, on_message)
        try:
            reader.run_until(reader.caught_up.is_set, tick, deadline)
            return reader
        except BrokerError:
            reader.close()
            if reader.accepted or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


def publish_retained(options: BrokerOptions, topic: str, payload: bytes) -> None:
    """Publish one retained message at QoS 1 and return once the broker acknowledged it."""
    client = open_client(options)
    failed: list[str] = []
    connected = threading.Event()

    def on_connect(_c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            failed.append(f"the broker refused the connection ({reason})")
        connected.set()

    client.on_connect = on_connect
    deadline = time.monotonic() + options.timeout_s
    info: mqtt.MQTTMessageInfo | None = None
    try:
        while info is None or not info.is_published():
            if failed:
                raise BrokerError(failed[0])
            if time.monotonic() > deadline:
                raise BrokerError(f"{options.url}: no answer within {options.timeout_s:g} s")
            rc = client.loop(timeout=0.1)
            if rc != mqtt.MQTT_ERR_SUCCESS:
                raise BrokerError(f"lost the connection to {options.url} ({mqtt.error_string(rc)})")
            if info is None and connected.is_set() and not failed:
                info = client.publish(topic, payload, qos=1, retain=True)
    finally:
        close_client(client)


def close_client(client: mqtt.Client) -> None:
    """Disconnect and let the DISCONNECT go out; a dead connection is just dropped."""
    try:
        client.disconnect()
        client.loop(timeout=0.1)
    except Exception:  # closing a dead connection: nothing left to tell anyone
        pass
