"""The MQTT uplink: an AgentListener that keeps the connection `cloud.mqtt` asks for.

Out: a retained status (will: offline) on <prefix>/<device>/status, apply events on /events,
the observed state on /state when it changes and telemetry on /telemetry every
reportIntervalSec. In: sync triggers on <prefix>/<device>/sync and <prefix>/fleet/sync, which
only ask the agent to fetch from its trusted source now; nothing received is ever applied.

Three threads, so the reconcile loop never waits on the network: the connection thread
(connect, reconnect with backoff, reconfigure), the sender (drains the store-and-forward
queue in order while connected) and the reporter (observes the device for state and
telemetry). Every outgoing message goes through the on-disk queue, connected or not.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from reconciler.engine.change import SENSITIVE
from reconciler.errors import OperationError
from reconciler.fsutil import atomic_write
from reconciler.output import redact_observed
from reconciler.services.mqtt import messages
from reconciler.services.mqtt.queue import Limits, Outbox
from reconciler.services.mqtt.settings import Settings, SettingsError, resolve
from reconciler.spec.base import SecretRef
from reconciler.spec.cloud import MqttSpec

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt
    from paho.mqtt.reasoncodes import ReasonCode

    from reconciler.engine.ports import DeviceBackend
    from reconciler.operations import Target

log = logging.getLogger("reconciler.mqtt")

WINDOW = 64
"""Messages handed to paho and not yet acknowledged, at most."""
BACKOFF_MIN_S = 1.0
"""First reconnect delay; it doubles per failed attempt up to retryIntervalSec."""
STABLE_S = 10.0
"""A connection that lasted less than this counts as a failure for the backoff, so a broker
that accepts and drops at once (two devices with one client id) is not hammered."""
STORM_LOSSES, STORM_WINDOW_S = 5, 300.0
"""stormDetected: this many lost connections within the window."""
SEND_POLL_S = 0.5
FLUSH_GRACE_S = 3.0
"""stop() waits this long for queued messages to reach the broker."""
OFFLINE_GRACE_S = 2.0
SPEC_FILE, QUEUE_FILE = "spec.json", "outbox.sqlite3"


class _Session:
    """One connection attempt: a fresh paho client and what its callbacks saw."""

    def __init__(self, client: mqtt.Client) -> None:
        self.client = client
        self.up_since: float | None = None
        self.refused = False
        self.lost = False
        self.closing = False


class MqttUplink:
    """The spec's cloud.mqtt as a live connection of the agent (an AgentListener)."""

    areas = frozenset({"cloud"})
    """It takes no spec while a cloud change waits."""

    def __init__(
        self,
        device: str,
        state_dir: Path,
        secrets: Callable[[str], str],
        on_sync: Callable[[], None],
        directory: Path | None = None,
    ) -> None:
        """`on_sync` is called for every valid sync trigger (the agent's request_sync);
        `directory` holds the queue (default: the state dir's mqtt/)."""
        self.device = device
        self.state_dir = state_dir
        self.dir = directory or state_dir / "mqtt"
        self.label = "MQTT uplink"
        """Who this connection is, in log lines."""
        self.secrets = secrets
        self.on_sync = on_sync
        self._lock = threading.Lock()
        self._spec: MqttSpec | None = None
        self._settings: Settings | None = None
        self._error: str | None = None
        self._backend_kind: tuple[str, str] | None = None
        self._observer: tuple[tuple[str, str], DeviceBackend] | None = None
        self._status: dict[str, Any] | None = None
        self._status_view: dict[str, Any] | None = None
        self._state_key: str | None = None
        self._client: mqtt.Client | None = None
        self._generation = 0
        self._losses: deque[float] = deque(maxlen=STORM_LOSSES)
        self._offline_drops = 0
        self._outbox: Outbox | None = None
        self._threads: list[threading.Thread] = []
        self._connected = threading.Event()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._send_wake = threading.Event()
        self._report_wake = threading.Event()
        remembered = self._recall()
        if remembered is not None:
            self._configure(remembered)

    # -- AgentListener -------------------------------------------------------------------

    def on_spec(self, target: Target, backend: Any) -> None:
        """Reconnect when cloud.mqtt (or a secret it names) changed; disconnect without it."""
        self._backend_kind = (backend.name, backend.profile.model)
        cloud = target.spec.spec.cloud
        self._configure(cloud.mqtt if cloud is not None else None)

    def on_status(self, status: dict[str, Any]) -> None:
        """Queue the status if it changed, and have the device observed for its state."""
        with self._lock:
            self._status = copy.deepcopy(status)
            self._queue_status(force=False)
        self._report_wake.set()

    def on_event(self, kind: str, data: dict[str, Any]) -> None:
        """Apply and commit events go to /events; kinds without a documented message don't."""
        model = messages.EVENTS.get(kind)
        if model is None:
            log.debug("event %s has no MQTT message", kind)
            return
        self._offer("events", model, data, retain=False)

    def stop(self) -> None:
        """Give queued messages a moment to reach the broker, leave "offline" retained on the
        status topic, disconnect. What is still queued goes out after the next start."""
        if not self._threads:
            return
        deadline = time.monotonic() + FLUSH_GRACE_S
        while self._connected.is_set() and self._queued() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stopping.set()
        for event in (self._wake, self._send_wake, self._report_wake):
            event.set()
        settings = self._settings
        patience = OFFLINE_GRACE_S + (settings.handshake_timeout_s if settings else 0.0)
        for thread in self._threads:
            thread.join(timeout=patience)
        if self._outbox is not None:
            with self._lock:
                self._outbox.close()

    # -- what the status endpoint serves ---------------------------------------------------

    def connection_state(self) -> dict[str, Any]:
        """The platform portal's GET /edgehub/api/connection."""
        spec = self._spec
        now = time.monotonic()
        recent = sum(1 for t in list(self._losses) if now - t < STORM_WINDOW_S)
        return {
            "enabled": spec is not None and spec.enabled,
            "status": "connected" if self._connected.is_set() else "disconnected",
            "certRevoked": False,
            "stormDetected": recent >= STORM_LOSSES,
        }

    def redacted_config(self) -> dict[str, Any] | None:
        """GET /edgehub/api/conncfg: the settings, secrets only as "(sensitive)"; None when no
        connection is configured (the portal's 404)."""
        spec = self._spec
        if spec is None:
            return None
        tls = spec.tls if spec.tls is not None and spec.tls.enabled else None

        def hidden(ref: SecretRef | None) -> str:
            return SENSITIVE if ref is not None else ""

        return {
            "username": spec.username or "",
            "password": hidden(spec.password),
            "mqttHost": spec.host,
            "mqttPort": spec.effective_port,
            "enableTLS": tls is not None,
            "overWebSocket": spec.websocket,
            "connectionString": "",
            "mac": "",
            "uuid": "",
            "skipCertVerify": spec.insecure_skip_verify,
            "deviceTokenCredential": "",
            "caCerts": [SENSITIVE] if tls is not None and tls.ca_cert is not None else [],
            "iothubKey": "",
            "iothubCert": "",
            "mqttKey": hidden(tls.client_key if tls is not None else None),
            "mqttCert": hidden(tls.client_cert if tls is not None else None),
        }

    def diagnostics(self) -> dict[str, Any]:
        """Why it is not connected and what waits: for logs, tests and the bench."""
        outbox = self._outbox
        return {
            "connected": self._connected.is_set(),
            "lastError": self._error,
            "queued": self._queued(),
            "dropped": self._offline_drops + (outbox.dropped if outbox is not None else 0),
            "connections": self._generation,
        }

    # -- configuration ---------------------------------------------------------------------

    def _configure(self, spec: MqttSpec | None) -> None:
        settings = None
        if spec is not None and spec.enabled:
            try:
                settings = resolve(spec, self.device, self.secrets)
            except SettingsError as exc:
                self._fail(str(exc))
        if spec != self._spec:
            self._remember(spec)
            self._spec = spec
        self._use(settings)

    def _use(self, settings: Settings | None) -> None:
        """Connect with `settings` (None: disconnect) unless they are the current ones."""
        if settings == self._settings:
            return
        if settings is not None:
            self._open(settings)
        self._settings = settings
        self._wake.set()
        self._report_wake.set()

    def _open(self, settings: Settings) -> None:
        """The queue and the threads, on the first connection configured."""
        store = settings.store
        limits = Limits(store.max_bytes, store.max_age_s, store.drop_newest)
        if self._outbox is not None:
            self._outbox.limits = limits
            return
        self._outbox = Outbox(self.dir / QUEUE_FILE, limits)
        for name, target in (
            ("mqtt-connection", self._run_connection),
            ("mqtt-sender", self._run_sender),
            ("mqtt-reporter", self._run_reporter),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _remember(self, spec: MqttSpec | None) -> None:
        """Keep the spec (secret names only), so after a restart the uplink reconnects and
        delivers its queue even before the agent's first pass succeeds."""
        path = self.dir / SPEC_FILE
        if spec is None:
            path.unlink(missing_ok=True)
            return
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = spec.model_dump(mode="json", by_alias=True, exclude_unset=True)
        atomic_write(path, json.dumps(data, indent=1).encode(), mode=0o600)

    def _recall(self) -> MqttSpec | None:
        try:
            return MqttSpec.model_validate(json.loads((self.dir / SPEC_FILE).read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, ValidationError) as exc:
            log.warning("ignoring the remembered MQTT settings: %s", exc)
            return None

    def _fail(self, error: str) -> None:
        if error != self._error:
            log.warning("%s: %s", self.label, error)
        self._error = error

    # -- publishing ------------------------------------------------------------------------

    def _offer(
        self, leaf: str, model: type[messages.Message], fields: dict[str, Any], retain: bool
    ) -> None:
        """Queue a message (dropped when disconnected without store-and-forward)."""
        settings, outbox = self._settings, self._outbox
        if settings is None or outbox is None or self._stopping.is_set():
            return
        if not self._may_publish(settings):
            self._offline_drops += 1
            return

        def make(seq: int) -> bytes:
            built = messages.build(
                model, fields, device=self.device, seq=seq, time=messages.stamp()
            )
            return settings.frame(leaf, built)

        topic = settings.topic(leaf)
        if topic is None:
            return
        try:
            outbox.put(topic, settings.qos, retain and settings.sparkplug is None, make)
        except ValidationError as exc:
            log.warning("not publishing a malformed %s message: %s", leaf, messages.problems(exc))
            return
        except sqlite3.Error as exc:
            log.error("store-and-forward queue %s failed: %s", outbox.path, exc)
            return
        self._send_wake.set()

    def _may_publish(self, settings: Settings) -> bool:
        """Connected, or allowed to keep messages until it is."""
        return self._connected.is_set() or settings.store.enable

    def _queue_status(self, force: bool) -> None:
        """The agent's status when it changed (or on connect, over the retained will).
        Called with the lock held, so two threads never queue statuses out of order."""
        if self._status is None:
            return
        view = messages.status_view(self._status)
        if view == self._status_view and not force:
            return
        self._status_view = view
        self._offer("status", messages.Status, self._status, retain=True)

    def _queued(self) -> int:
        outbox = self._outbox
        if outbox is None:
            return 0
        try:
            return len(outbox)
        except sqlite3.Error:
            return 0

    # -- connection thread -----------------------------------------------------------------

    def _run_connection(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            self._wake.clear()
            settings = self._settings
            if settings is None:
                self._wake.wait()
                continue
            lasted = self._session(settings)
            self._wake.clear()
            if self._stopping.is_set():
                return
            if self._settings is not settings:
                failures = 0
                continue
            failures = 0 if lasted >= STABLE_S else failures + 1
            delay = min(settings.retry_interval_s, BACKOFF_MIN_S * 2 ** max(0, failures - 1))
            self._wake.wait(delay * random.uniform(0.8, 1.2))

    def _interrupted(self, settings: Settings) -> bool:
        return self._stopping.is_set() or self._settings is not settings

    def _session(self, settings: Settings) -> float:
        """Connect, serve until the connection is lost or the settings change; how long the
        connection was up (0 when it never came up)."""
        from reconciler.services.mqtt import client as paho

        try:
            client = paho.open_client(settings, self._will(settings), WINDOW)
        except SettingsError as exc:
            self._fail(str(exc))
            return 0.0
        session = _Session(client)
        client.on_connect = lambda _c, _u, _f, code, _p: self._on_connect(session, settings, code)
        client.on_disconnect = lambda _c, _u, _f, code, _p: self._on_disconnect(session, code)
        client.on_message = lambda _c, _u, message: self._on_message(settings, message)
        client.on_publish = lambda _c, _u, _mid, _code, _p: self._send_wake.set()
        try:
            paho.connect(client, settings)
        except OSError as exc:
            self._fail(paho.describe(exc, settings))
            return 0.0
        client.loop_start()
        try:
            deadline = time.monotonic() + settings.handshake_timeout_s
            while session.up_since is None and not session.lost:
                if self._interrupted(settings):
                    return 0.0
                if time.monotonic() >= deadline:
                    self._fail(f"no answer to CONNECT from {settings.host}:{settings.port}")
                    return 0.0
                self._wake.wait(max(0.0, deadline - time.monotonic()))
                self._wake.clear()
            up_since = session.up_since
            if up_since is None:
                if not session.refused:
                    where = f"{settings.host}:{settings.port}"
                    self._fail(f"{where} closed the connection before accepting it")
                return 0.0
            while not session.lost and not self._interrupted(settings):
                self._wake.wait()
                self._wake.clear()
            if not session.lost:
                self._leave_offline(session, settings)
            return time.monotonic() - up_since
        finally:
            self._connected.clear()
            with self._lock:
                self._client = None
            if not session.lost:
                session.closing = True
                client.disconnect()
            client.loop_stop()

    def _leave_offline(self, session: _Session, settings: Settings) -> None:
        """A clean disconnect sends no will: leave the offline status retained ourselves."""
        from reconciler.services.mqtt import client as paho

        self._connected.clear()
        with self._lock:
            self._client = None
        reason = (
            "stopped"
            if self._stopping.is_set()
            else "disabled"
            if self._settings is None
            else "reconfigured"
        )
        farewell = self._farewell(settings, reason)
        if farewell is None:
            return
        topic, offline, retain = farewell
        info = session.client.publish(topic, offline, settings.qos, retain)
        if paho.accepted(info):
            info.wait_for_publish(OFFLINE_GRACE_S)

    # -- what a client kind sends its own way (clients.py) ---------------------------------

    def _will(self, settings: Settings) -> bytes:
        """The will of a new connection attempt: the offline status."""
        return messages.build(messages.Offline, {}, device=self.device, reason="connectionLost")

    def _farewell(self, settings: Settings, reason: str) -> tuple[str, bytes, bool] | None:
        """(topic, payload, retain) to leave before a clean disconnect: the offline status."""
        topic = settings.topic("status")
        if topic is None:
            return None
        offline = messages.build(
            messages.Offline, {}, device=self.device, reason=reason, time=messages.stamp()
        )
        return topic, settings.frame("status", offline), True

    def _born(self, client: mqtt.Client, settings: Settings) -> None:
        """Sent on a new connection before anything queued: nothing for the uplink."""

    def _wire(self, settings: Settings, payload: bytes) -> bytes:
        """A queued message as it goes on the wire (sent now): as it was queued."""
        return payload

    def _on_connect(self, session: _Session, settings: Settings, code: ReasonCode) -> None:
        if code.is_failure:
            session.refused = True
            self._fail(f"{settings.host}:{settings.port} refused the connection: {code}")
            return
        sync = settings.topic("sync")
        if settings.sync and sync is not None:
            session.client.subscribe([(sync, 1), (settings.fleet_sync_topic, 1)])
        session.up_since = time.monotonic()
        self._error = None
        log.info("%s connected to %s:%s", self.label, settings.host, settings.port)
        self._born(session.client, settings)
        with self._lock:
            self._client = session.client
            self._generation += 1
            self._connected.set()
            self._queue_status(force=True)
        self._state_key = None
        for event in (self._report_wake, self._send_wake, self._wake):
            event.set()

    def _on_disconnect(self, session: _Session, code: ReasonCode) -> None:
        session.lost = True
        self._connected.clear()
        with self._lock:
            if self._client is session.client:
                self._client = None
        if session.up_since is not None and not session.closing:
            self._losses.append(time.monotonic())
            log.warning("%s lost its connection (%s)", self.label, code)
        self._send_wake.set()
        self._wake.set()

    def _on_message(self, settings: Settings, message: mqtt.MQTTMessage) -> None:
        """A sync trigger: validated, then the agent fetches from its trusted source."""
        if message.retain:
            log.info("ignoring a retained (stale) sync trigger on %s", message.topic)
            return
        try:
            request = messages.parse_sync(message.payload)
        except messages.InvalidSync as exc:
            log.warning("ignoring a sync trigger on %s: %s", message.topic, exc)
            return
        log.info(
            "sync trigger on %s (requestId %s, reason %r): fetching now",
            message.topic,
            request.request_id,
            request.reason,
        )
        self.on_sync()
        scope = "fleet" if message.topic == settings.fleet_sync_topic else "device"
        fields = {"scope": scope, "requestId": request.request_id, "reason": request.reason}
        self._offer("events", messages.SyncRequested, fields, retain=False)

    # -- sender thread ---------------------------------------------------------------------

    def _run_sender(self) -> None:
        """Hand queued messages to the live client in order, delete them once delivered."""
        from reconciler.services.mqtt import client as paho

        assert self._outbox is not None
        outbox = self._outbox
        generation, last, replay_until = 0, 0, 0
        inflight: list[tuple[int, mqtt.MQTTMessageInfo]] = []
        while not self._stopping.is_set():
            self._send_wake.wait(SEND_POLL_S)
            self._send_wake.clear()
            try:
                delivered = [pair for pair in inflight if pair[1].is_published()]
                if delivered:
                    outbox.remove(row_id for row_id, _ in delivered)
                    inflight = [pair for pair in inflight if pair not in delivered]
                with self._lock:
                    client, current = self._client, self._generation
                settings = self._settings
                if client is None or settings is None:
                    continue
                if current != generation:  # a new connection: what was in flight goes again
                    generation, last, inflight = current, 0, []
                    replay_until = outbox.last_id()
                for row in outbox.pending(last, WINDOW - len(inflight)):
                    payload = self._wire(settings, row.payload)
                    info = client.publish(row.topic, payload, row.qos, row.retain)
                    if not paho.accepted(info):
                        break
                    inflight.append((row.id, info))
                    last = row.id
                    if row.id <= replay_until and self._stopping.wait(settings.store.send_delay_s):
                        break
            except sqlite3.Error as exc:
                log.error("store-and-forward queue %s failed: %s", outbox.path, exc)
                self._stopping.wait(SEND_POLL_S)

    # -- reporter thread -------------------------------------------------------------------

    def _run_reporter(self) -> None:
        """Observe the device: state when it changed, telemetry every reportIntervalSec."""
        next_telemetry = 0.0
        while True:
            self._report_wake.wait(self._report_timeout(next_telemetry))
            self._report_wake.clear()
            if self._stopping.is_set():
                return
            settings = self._settings
            if settings is None or not self._may_publish(settings):
                continue
            try:
                backend = self._observing_backend()
                if backend is None:
                    continue
                observed = backend.observe()
                state = redact_observed(observed)
                key = json.dumps(state, sort_keys=True, default=str)
                if key != self._state_key:
                    self._state_key = key
                    self._offer("state", messages.State, {"state": state}, settings.retain)
                if settings.report_interval_s and time.monotonic() >= next_telemetry:
                    next_telemetry = time.monotonic() + settings.report_interval_s
                    readings = redact_observed(_readings(backend.observe_all(), observed))
                    self._offer(
                        "telemetry", messages.Telemetry, {"telemetry": readings}, settings.retain
                    )
            except (OperationError, OSError, ValueError) as exc:
                log.warning("observing the device for the MQTT uplink failed: %s", exc)

    def _observing_backend(self) -> DeviceBackend | None:
        """A backend instance of the uplink's own, opened like the agent's: the agent's
        instance holds state mid-apply that an observe() from this thread would clobber."""
        from reconciler.operations import open_backend

        kind = self._backend_kind
        if kind is None:
            return None
        if self._observer is None or self._observer[0] != kind:
            self._observer = (kind, open_backend(kind[0], self.state_dir, kind[1]))
        return self._observer[1]

    def _report_timeout(self, next_telemetry: float) -> float | None:
        """Until the next telemetry sample; None (wait to be woken) while nothing is sent."""
        settings = self._settings
        if settings is None or self._backend_kind is None or not settings.report_interval_s:
            return None
        if not self._may_publish(settings):
            return None
        return max(0.0, next_telemetry - time.monotonic())


def _readings(everything: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """What observe_all() adds to observe(): the read-only readings (telemetry)."""
    out: dict[str, Any] = {}
    for key, value in everything.items():
        if key not in config:
            out[key] = value
        elif isinstance(value, dict) and isinstance(config[key], dict):
            nested = _readings(value, config[key])
            if nested:
                out[key] = nested
    return out
