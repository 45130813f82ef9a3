"""paho-mqtt clients built from Settings: protocol, transport, TLS, credentials, will.

The uplink owns reconnecting (paho's own retry is off): connect() raises the real reason a
connection failed, which the uplink reports, and each attempt starts a fresh client, so a
new spec or a rotated secret always takes effect on the next attempt.
"""

from __future__ import annotations

import os
import socket
import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from reconciler.services.mqtt.settings import Settings, SettingsError, TlsSettings

PROTOCOLS = {"3.1": mqtt.MQTTv31, "3.1.1": mqtt.MQTTv311, "5": mqtt.MQTTv5}
TLS_VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}
MAX_INCOMING_PACKET = 64 * 1024
"""MQTT 5: the broker must not send us bigger packets (sync triggers are at most 1 KiB)."""
SESSION_EXPIRY_S = 86400
"""MQTT 5 with cleanSession: false: the broker keeps the session a day after a disconnect."""


def open_client(settings: Settings, will: bytes, window: int) -> mqtt.Client:
    """A client ready to connect; callbacks are the caller's to set. `will` (the offline
    status) is the broker's will unless the spec declares its own (settings.will)."""
    v5 = settings.protocol == "5"
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=settings.client_id,
        clean_session=None if v5 else settings.clean_session,
        protocol=PROTOCOLS[settings.protocol],
        transport="websockets" if settings.websocket_path else "tcp",
        reconnect_on_failure=False,
    )
    if settings.websocket_path:
        client.ws_set_options(path=settings.websocket_path)
    if settings.tls is not None:
        client.tls_set_context(tls_context(settings.tls, settings.tls_path, settings.alpn))
    if settings.username is not None:
        client.username_pw_set(settings.username, settings.password)
    status = settings.will_topic()
    if settings.will is None and status is not None:
        retain = settings.sparkplug is None  # Sparkplug: NDEATH is never retained
        client.will_set(status, settings.frame("status", will), qos=settings.qos, retain=retain)
    elif settings.will is not None:
        own = settings.will
        client.will_set(own.topic, own.payload.encode(), qos=own.qos, retain=own.retain)
    client.connect_timeout = settings.handshake_timeout_s
    client.max_inflight_messages_set(window)
    return client


def connect(client: mqtt.Client, settings: Settings) -> None:
    """Open the socket and send CONNECT; the CONNACK arrives in the network loop."""
    if settings.protocol != "5":
        client.connect(settings.host, settings.port, keepalive=settings.keepalive)
        return
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.MaximumPacketSize = MAX_INCOMING_PACKET
    if not settings.clean_session:
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
    client.connect(
        settings.host,
        settings.port,
        keepalive=settings.keepalive,
        clean_start=settings.clean_session,
        properties=properties,
    )


def accepted(info: mqtt.MQTTMessageInfo) -> bool:
    """paho took the message (it is sent or queued for this connection)."""
    return info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS


def tls_context(
    tls: TlsSettings, where: str = "cloud.mqtt.tls", alpn: tuple[str, ...] = ()
) -> ssl.SSLContext:
    """TLS as the settings ask; errors name the spec path `where` (the uplink's or a client's)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = TLS_VERSIONS[tls.version]
    if alpn:
        context.set_alpn_protocols(list(alpn))
    try:
        if tls.ca_pem is not None:
            context.load_verify_locations(cadata=tls.ca_pem)
        else:
            context.load_default_certs()
    except (ssl.SSLError, ValueError):
        raise SettingsError(f"{where}.caCert: not a PEM certificate bundle") from None
    if tls.cert_pem is not None and tls.key_pem is not None:
        _load_client_certificate(context, tls.cert_pem, tls.key_pem, where)
    if tls.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _load_client_certificate(
    context: ssl.SSLContext, cert_pem: str, key_pem: str, where: str
) -> None:
    """ssl reads a certificate and key only from files: give it anonymous memory-backed
    files (memfd), so the private key never lands on a disk."""
    fds: list[int] = []
    try:
        for name, pem in (("cert", cert_pem), ("key", key_pem)):
            fd = os.memfd_create(f"mqtt-client-{name}", os.MFD_CLOEXEC)
            fds.append(fd)
            with os.fdopen(fd, "wb", closefd=False) as f:
                f.write(pem.encode())
        cert, key = (f"/proc/self/fd/{fd}" for fd in fds)
        context.load_cert_chain(cert, key)
    except ssl.SSLError:
        raise SettingsError(
            f"{where}.clientCert/clientKey: not a PEM certificate and its private key"
        ) from None
    finally:
        for fd in fds:
            os.close(fd)


def describe(exc: BaseException, settings: Settings) -> str:
    """One sentence for the operator: why connecting to the broker failed."""
    return describe_failure(exc, settings.host, settings.port, settings.handshake_timeout_s)


def describe_failure(exc: BaseException, host: str, port: int, timeout_s: float) -> str:
    """The same sentence for any client of a broker (the uplink, the fleet commands)."""
    where = f"{host}:{port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS with {where}: server certificate not accepted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS with {where} failed ({exc.reason or exc.__class__.__name__})"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve {host} ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return f"{where} refused the connection"
    if isinstance(exc, TimeoutError):
        return f"no answer from {where} within {timeout_s:g} s"
    return f"connecting to {where} failed: {exc}"
