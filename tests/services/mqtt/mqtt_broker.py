"""Real MQTT peers on loopback for the uplink's tests and bench/mqtt.py: a mosquitto on free
ports with a generated config, a subscriber that records what arrives, and a CA with
server and client certificates made with openssl.

A plain module, not a conftest.py, so the bench can import it too.
"""

from __future__ import annotations

import itertools
import json
import os
import pwd
import random
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from testkit import Certs, make_certs  # noqa: F401  (the suites import them from here)

LOOPBACK = "127.0.0.1"
MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
)
NO_MOSQUITTO = "needs the mosquitto MQTT broker (Debian: apt-get install mosquitto)"
_collector_ids = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def loopback_address() -> str:
    """A free 127.x.y.z address (all of 127/8 is loopback on Linux), for a broker that must
    listen on a cloud's fixed port (8883) without colliding with another test's."""
    while True:
        address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
        with socket.socket() as s:
            try:
                s.bind((address, 8883))
            except OSError:
                continue
            return address


def server_cert_for(certs: Certs, address: str) -> Certs:
    """`certs` with a server certificate for `address`, signed by the same test CA."""
    root = certs.ca.parent / f"server-{address}"
    root.mkdir(exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=root, check=True, capture_output=True, timeout=60)

    (root / "server.ext").write_text(f"subjectAltName=IP:{address}\nextendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", f"/CN={address}")  # fmt: skip
    openssl("x509", "-req", "-in", "server.csr", "-CA", str(certs.ca), "-CAkey",
            str(certs.ca.parent / "ca.key"), "-CAcreateserial", "-out", "server.crt",
            "-days", "2", "-extfile", "server.ext")  # fmt: skip
    (root / "server.key").chmod(0o600)
    return replace(certs, server_cert=root / "server.crt", server_key=root / "server.key")


def wait_until(what: str, check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


class Broker:
    """mosquitto on a free loopback port (plus one for websockets if asked), persistent,
    so a subscriber's session and its queued messages survive stop() and start()."""

    def __init__(
        self,
        root: Path,
        *,
        certs: Certs | None = None,
        require_certificate: bool = False,
        websocket: bool = False,
        passwords: dict[str, str] | None = None,
        host: str = LOOPBACK,
        port: int | None = None,
    ) -> None:
        """`host` and `port`: where it listens (a cloud's fixed port on a loopback address
        of its own, see loopback_address)."""
        assert MOSQUITTO is not None, NO_MOSQUITTO
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.port = port or free_port()
        self.ws_port = free_port() if websocket else None
        self.certs = certs
        self.proc: subprocess.Popen[bytes] | None = None
        lines = [
            f"user {pwd.getpwuid(os.getuid()).pw_name}",
            "persistence true",
            f"persistence_location {root}/",
            "autosave_interval 1",
            f"log_dest file {root}/mosquitto.log",
            "log_type all",
            "max_queued_messages 100000",
            "max_inflight_messages 0",
            "per_listener_settings false",
        ]
        if passwords:
            file = root / "passwords"
            file.write_text("")
            for user, password in passwords.items():
                subprocess.run(
                    ["mosquitto_passwd", "-b", str(file), user, password],
                    check=True,
                    capture_output=True,
                )
            file.chmod(0o600)
            lines += [f"password_file {file}", "allow_anonymous false"]
        else:
            lines.append("allow_anonymous true")
        listeners = [(self.port, "mqtt")]
        if self.ws_port is not None:
            listeners.append((self.ws_port, "websockets"))
        for port, protocol in listeners:
            lines += [f"listener {port} {host}", f"protocol {protocol}"]
            if certs is not None:
                lines += [
                    f"cafile {certs.ca}",
                    f"certfile {certs.server_cert}",
                    f"keyfile {certs.server_key}",
                    f"require_certificate {'true' if require_certificate else 'false'}",
                ]
        self.config = root / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        assert MOSQUITTO is not None
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port in (self.port, self.ws_port):
            if port is not None:
                wait_until(f"mosquitto listening on {port}", lambda p=port: self._listening(p))

    def _listening(self, port: int) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            err = self.proc.stderr.read().decode() if self.proc.stderr else ""
            raise AssertionError(f"mosquitto exited with {self.proc.returncode}: {err}")
        with socket.socket() as s:
            return s.connect_ex((self.host, port)) == 0

    def stop(self) -> None:
        """SIGTERM: mosquitto saves its sessions and queued messages, then exits."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def client_tls(self) -> ssl.SSLContext | None:
        """What a subscriber needs to talk to this broker (client certificate included)."""
        if self.certs is None:
            return None
        context = ssl.create_default_context(cafile=str(self.certs.ca))
        context.load_cert_chain(self.certs.client_cert, self.certs.client_key)
        return context


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float
    """time.monotonic() when it arrived."""

    @property
    def data(self) -> Any:
        return json.loads(self.payload)


class Collector:
    """A subscriber that records everything, in arrival order. Its session is persistent
    (clean_session false, QoS 1), so with the broker's persistence nothing published while
    it reconnects after a broker restart is lost to it."""

    def __init__(
        self,
        broker: Broker,
        topics: list[str],
        client_id: str | None = None,
        auth: tuple[str, str] | None = None,
    ) -> None:
        """`auth`: user name and password, for a broker with `passwords`."""
        self.broker = broker
        self.topics = topics
        self.received: list[Received] = []
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"collector-{next(_collector_ids)}",
            clean_session=False,
        )
        context = broker.client_tls()
        if context is not None:
            self.client.tls_set_context(context)
        if auth is not None:
            self.client.username_pw_set(*auth)
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port, keepalive=10)
        self.client.loop_start()
        wait_until("the collector's subscription", self._subscribed.is_set)

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe([(topic, 1) for topic in self.topics])

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.received.append(Received(msg.topic, msg.payload, msg.retain, time.monotonic()))
            self._cond.notify_all()

    def messages(self, suffix: str = "") -> list[Received]:
        with self._cond:
            return [m for m in self.received if m.topic.endswith(suffix)]

    def wait_for(
        self, what: str, match: Callable[[Received], bool], timeout: float = 30.0
    ) -> Received:
        """The first message (already received or arriving) that matches."""
        deadline = time.monotonic() + timeout
        with self._cond:
            seen = 0
            while True:
                for message in self.received[seen:]:
                    if match(message):
                        return message
                seen = len(self.received)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    topics = [m.topic for m in self.received[-10:]]
                    raise AssertionError(f"timed out waiting for {what}; last topics {topics}")
                self._cond.wait(remaining)

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> float:
        """Publish and wait for the broker's PUBACK; the monotonic time it was sent."""
        sent = time.monotonic()
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(10)
        return sent

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def events(collector: Collector, suffix: str = "/events") -> list[dict[str, Any]]:
    """Payloads on `suffix` that carry a seq (not the offline will), de-duplicated by seq
    as a consumer does (delivery is at least once)."""
    seen: set[int] = set()
    out = []
    for message in collector.messages(suffix):
        data = message.data
        if "seq" not in data or data["seq"] in seen:
            continue
        seen.add(data["seq"])
        out.append(data)
    return out
