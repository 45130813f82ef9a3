"""The Modbus service the agent owns: slave listeners, master pollers and the tag store.

pymodbus is asyncio; the agent is synchronous. The service therefore runs its own event
loop in a dedicated thread, and start / reconfigure / stop block until that loop has done
the work, so errors (a port in use) reach the caller. tags() and status() only copy
snapshots and never wait for the loop.

Device tags (telemetry, GPIO, DI/DO, watchdog, reconciler status) are read by observing
the backend every `refresh_s` in a worker thread; master values arrive as they are polled.
A client's write to a writable zone becomes a Change applied through the engine's write
entry point (engine.writes: apply lock, lockout check, history, verify), or is written
through to the remote device for modbus.DEVICE.COMMAND tags.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from reconciler.errors import OperationError
from reconciler.services.modbus.codec import CodecError
from reconciler.services.modbus.conformance import conform, quiet_frame_dumps
from reconciler.services.modbus.tags import (
    Reading,
    TagError,
    device_change,
    reconciler_section,
    resolve,
)
from reconciler.services.modbus.tuning import (
    MASTER_LOGGER,
    SLAVE_LOGGER,
    set_keep_alive,
    set_log_level,
)
from reconciler.spec.modbus import ModbusSlave, ModbusSpec, ServedZone, tag_path

if TYPE_CHECKING:
    from pymodbus.server import ModbusSerialServer, ModbusTcpServer

    from reconciler.engine.change import Change
    from reconciler.engine.ports import DeviceBackend
    from reconciler.services.modbus.master import Master, SerialLine
    from reconciler.services.modbus.slave import ZoneContext, ZoneMap

log = logging.getLogger(SLAVE_LOGGER)
"""Everything here but the master's polling (master.py) serves the slave: its log level."""
T = TypeVar("T")

CALL_TIMEOUT_S = 60.0
CLOSE_TIMEOUT_S = 3.0
"""Longest a listener may take to close before the stop goes on without it."""
"""Longest start/reconfigure/stop may block the agent (stopping waits for polls in flight)."""

# Exception codes (Modbus Application Protocol, section 7), as the writer returns them.
ILLEGAL_ADDRESS, ILLEGAL_VALUE, DEVICE_FAILURE, DEVICE_BUSY, GATEWAY_PATH = 2, 3, 4, 6, 10
WRITE_SOURCE = "modbus write"
"""History source of a client's write."""
_WRITE_CODES = {"busy": DEVICE_BUSY, "refused": ILLEGAL_VALUE}

_PARITY = {"none": "N", "odd": "O", "even": "E", "mark": "M", "space": "S"}


class ModbusServiceError(OperationError):
    """Part of the modbus spec could not be put in place; the rest of it runs."""


def _no_secrets(name: str) -> str:
    raise OperationError("a Modbus write carries no secrets")


class ModbusService:
    """The spec's modbus section as a running service, owned by a synchronous caller."""

    def __init__(
        self,
        backend: DeviceBackend,
        state_dir: Path,
        *,
        refresh_s: float = 1.0,
        serial_paths: Mapping[int, str] | None = None,
    ) -> None:
        """`serial_paths` maps serial port ids to device paths or pyserial URLs; by default
        port N is /dev/ttyS{N-1}."""
        self.backend = backend
        self.state_dir = state_dir
        self.refresh_s = refresh_s
        self.serial_paths = dict(serial_paths or {})
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._readings: dict[str, Reading] = {}
        self._readings_lock = threading.Lock()
        self._backend_lock = threading.Lock()
        self._device_tags: set[str] = set()
        self._zones: ZoneMap | None = None
        self._contexts: dict[str, ZoneContext] = {}
        self._servers: dict[str, tuple[Any, ModbusTcpServer | ModbusSerialServer]] = {}
        self._master: Master | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._lines: dict[int, SerialLine] = {}
        quiet_frame_dumps()

    # --- the caller's side (any thread) ----------------------------------------------------

    def start(self, spec: ModbusSpec | None) -> None:
        """Start the loop thread and put `spec` in place; ModbusServiceError if some of it
        could not be (the rest runs, and a later reconfigure retries)."""
        if self._thread is None:
            ready = threading.Event()
            self._thread = threading.Thread(
                target=self._run_loop, args=(ready,), name="modbus", daemon=True
            )
            self._thread.start()
            ready.wait()
        self.reconfigure(spec)

    def reconfigure(self, spec: ModbusSpec | None) -> None:
        """Change the running service to `spec` in place: zones and unit ids are swapped
        under connected clients; listeners restart only when their address changes; only
        changed master devices restart."""
        if self._loop is None:
            raise RuntimeError("the Modbus service is not started")
        self._call(self._configure(spec))

    def stop(self) -> None:
        """Close listeners and connections, stop the loop and its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            self._call(self._shutdown())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(CALL_TIMEOUT_S)
            self._loop = self._thread = None

    def tags(self) -> dict[str, dict[str, Any]]:
        """Every tag the service reads or polls: value, quality, timestamp (ISO, when the value
        was last good) and error; for the status endpoint's /reconciler/api/tags."""
        with self._readings_lock:
            readings = dict(self._readings)
        return {tag: readings[tag].as_dict() for tag in sorted(readings)}

    def status(self) -> dict[str, Any]:
        """Listeners, zones that cannot be served and why, and master devices' state."""
        zones, servers = self._zones, dict(self._servers)
        return {
            "slave": {
                "listening": {kind: self._describe(key) for kind, (key, _) in servers.items()},
                "zones": len(zones.zones) if zones else 0,
                "zoneErrors": dict(zones.errors) if zones else {},
            },
            "master": self._master.status() if self._master else {},
        }

    def address(self, kind: str = "tcp") -> tuple[str, int] | None:
        """Where the TCP slave listens, as bound; None when it does not."""
        entry = self._servers.get(kind)
        transport = getattr(entry[1], "transport", None) if entry else None
        sockets = getattr(transport, "sockets", None)
        if not sockets:
            return None
        host, port = sockets[0].getsockname()[:2]
        return str(host), int(port)

    @staticmethod
    def _describe(key: tuple[Any, ...]) -> str:
        """A listener key as an address: host:port, or the serial line's path."""
        return f"{key[0] or '*'}:{key[1]}" if isinstance(key[1], int) else str(key[0].path)

    def _run_loop(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(CALL_TIMEOUT_S)

    # --- the loop's side ---------------------------------------------------------------------

    async def _configure(self, spec: ModbusSpec | None) -> None:
        from reconciler.services.modbus.master import Master
        from reconciler.services.modbus.slave import ZoneMap

        slave = spec.slave if spec is not None else None
        master = spec.master if spec is not None else None
        devices = (master.devices or []) if master is not None else []
        set_log_level(SLAVE_LOGGER, slave.log_level if slave is not None else None)
        set_log_level(MASTER_LOGGER, master.log_level if master is not None else None)
        zones = slave.served_zones() if slave is not None else []
        self._device_tags = {z.tag for z in zones if not z.tag.startswith("modbus.")}
        for device in devices:
            for cmd in device.commands or []:
                if cmd.tag is not None and not cmd.tag.startswith("modbus."):
                    self._device_tags.add(cmd.tag)
        ports = {d.rtu.port for d in devices if d.rtu is not None}
        if slave is not None and slave.rtu is not None:
            ports.add(slave.rtu.port)
        self._lines = await asyncio.to_thread(self._serial_lines, ports)

        if self._master is None:
            self._master = Master(self._publish, self._lookup, self._serial_line)
        await self._master.configure(list(devices))
        self._prune(zones, devices)

        if self._zones is None or self._zones.zones != zones:
            zone_map = ZoneMap(zones)
            with self._readings_lock:
                zone_map.update(dict(self._readings))
            self._zones = zone_map
        await self._refresh()

        errors = await self._listen(slave)
        if self._refresher is None and self._device_tags:
            self._refresher = asyncio.create_task(self._refresh_forever(), name="modbus tags")
        if errors:
            raise ModbusServiceError("; ".join(errors))

    async def _listen(self, slave: ModbusSlave | None) -> list[str]:
        """Open, keep or close the TCP and RTU listeners; why any that should is not open."""
        from reconciler.services.modbus.slave import ZoneContext

        assert self._zones is not None
        wanted: dict[str, tuple[Any, int]] = {}
        if slave is not None and slave.tcp is not None and slave.tcp.enabled:
            bind = str(slave.tcp.bind_address) if slave.tcp.bind_address else ""
            wanted["tcp"] = ((bind, slave.tcp.port), slave.tcp.unit_id)
        if slave is not None and slave.rtu is not None and slave.rtu.enabled:
            line = self._serial_line(slave.rtu.port)
            wanted["rtu"] = ((line, slave.rtu.format), slave.rtu.unit_id)
        for kind in list(self._servers):
            if kind not in wanted or wanted[kind][0] != self._servers[kind][0]:
                await self._close_server(kind)
        errors = []
        for kind, (key, unit) in wanted.items():
            context = self._contexts.get(kind)
            if context is None:
                context = self._contexts[kind] = ZoneContext(self._zones, unit, self._write)
            context.zones, context.unit_id = self._zones, unit  # in place, clients stay
            if kind not in self._servers:
                name = slave.tcp.name if kind == "tcp" and slave and slave.tcp else kind
                try:
                    await self._open_server(kind, key, context, name)
                except OSError as exc:
                    errors.append(f"the Modbus {kind.upper()} slave cannot listen: {exc}")
        for kind in [k for k in self._contexts if k not in wanted]:
            del self._contexts[kind]
        if "tcp" in self._servers and slave is not None and slave.tcp is not None:
            set_keep_alive(self._servers["tcp"][1].transport, slave.tcp.keep_alive_time)
        return errors

    async def _open_server(
        self, kind: str, key: tuple[Any, ...], context: ZoneContext, name: str
    ) -> None:
        from pymodbus.framer import FramerType
        from pymodbus.server import ModbusSerialServer, ModbusTcpServer

        server: ModbusTcpServer | ModbusSerialServer
        if kind == "tcp":
            server = ModbusTcpServer(context, address=key)
            where = f"{key[0] or '*'}:{key[1]}"
        else:
            line, framing = key
            server = ModbusSerialServer(
                context,
                framer=FramerType.ASCII if framing == "ascii" else FramerType.RTU,
                port=line.path,
                baudrate=line.baudrate,
                parity=line.parity,
                bytesize=line.bytesize,
                stopbits=line.stopbits,
                ignore_missing_devices=True,  # other units on the bus answer for themselves
            )
            where = line.path
        conform(server)
        try:
            await server.serve_forever(background=True)
        except RuntimeError:
            await server.shutdown()  # type: ignore[no-untyped-call]  # pymodbus leaves it unannotated
            raise OSError(f"cannot open {where}") from None
        self._servers[kind] = (key, server)
        log.info("Modbus %s slave %s serving on %s", kind.upper(), name, where)

    async def _close_server(self, kind: str) -> None:
        """Close one listener; bounded, so a connection pymodbus waits on cannot hold up a
        stop (SIGTERM must end the process in time whatever a client is doing)."""
        _, server = self._servers.pop(kind)
        shutdown = server.shutdown()  # type: ignore[no-untyped-call]  # pymodbus: unannotated
        try:
            await asyncio.wait_for(shutdown, CLOSE_TIMEOUT_S)
        except TimeoutError:
            log.warning("Modbus %s listener did not close within %.0f s", kind, CLOSE_TIMEOUT_S)

    async def _shutdown(self) -> None:
        for kind in list(self._servers):
            await self._close_server(kind)
        if self._master is not None:
            await self._master.stop()
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None

    def _prune(self, zones: list[ServedZone], devices: list[Any]) -> None:
        """Forget readings of tags no zone or command uses any more."""
        keep = {z.tag for z in zones} | self._device_tags
        keep |= {
            f"modbus.{d.name}.{c.name}" for d in devices if d.enabled for c in d.commands or []
        }
        with self._readings_lock:
            for tag in [t for t in self._readings if t not in keep]:
                del self._readings[tag]

    # --- tags ----------------------------------------------------------------------------

    def _publish(self, tag: str, reading: Reading) -> None:
        with self._readings_lock:
            self._readings[tag] = reading
        if self._zones is not None:
            self._zones.update({tag: reading})

    def _lookup(self, tag: str) -> Reading:
        with self._readings_lock:
            return self._readings.get(tag, Reading(error=f"{tag} has not been read"))

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            if self._device_tags:
                await self._refresh()

    async def _refresh(self) -> None:
        """Observe the device (in a worker thread) and publish every device tag."""
        tags = set(self._device_tags)
        if not tags:
            return
        try:
            document = await asyncio.to_thread(self._observe, tags)
        except Exception as exc:  # any backend failure: tags go bad, the service keeps going
            log.warning("Modbus tags: cannot observe the device: %s", exc)
            for tag in tags:
                self._publish(tag, self._lookup(tag).failed(f"cannot observe the device: {exc}"))
            return
        now = time.time()
        for tag in tags:
            try:
                reading = Reading(resolve(document, tag), "good", now)
            except TagError as exc:
                reading = self._lookup(tag).failed(str(exc))
            self._publish(tag, reading)

    def _observe(self, tags: set[str]) -> dict[str, Any]:
        with self._backend_lock:
            document = self.backend.observe_all()
        if any(tag.startswith("reconciler.") for tag in tags):
            from reconciler.syncstatus import read_status

            document["reconciler"] = reconciler_section(read_status(self.state_dir))
        return document

    def _serial_line(self, port: int) -> SerialLine:
        return self._lines[port]

    def _serial_lines(self, ports: set[int]) -> dict[int, SerialLine]:
        """Device path and line settings of each port, as the device has them configured."""
        from reconciler.services.modbus.master import SerialLine

        if not ports:
            return {}
        with self._backend_lock:
            observed = (self.backend.observe().get("serial") or {}).get("ports") or {}
        lines = {}
        for port in ports:
            settings = observed.get(str(port)) or {}
            lines[port] = SerialLine(
                self.serial_paths.get(port, f"/dev/ttyS{port - 1}"),
                baudrate=int(settings.get("baudRate", 9600)),
                parity=_PARITY.get(str(settings.get("parity", "none")), "N"),
                bytesize=int(settings.get("dataBits", 8)),
                stopbits=int(settings.get("stopBits", 1)),
            )
        return lines

    # --- client writes -------------------------------------------------------------------

    async def _write(
        self, zones: ZoneMap, table: str, address: int, values: list[Any]
    ) -> int | None:
        """A client's write: through the driver for device tags, to the remote device for
        polled ones; the exception code to answer with, or None when done."""
        planned = zones.plan_write(table, address, values)
        if isinstance(planned, int):
            log.info(
                "Modbus write to %s %d..%d refused (exception %d)",
                table,
                address,
                address + len(values) - 1,
                planned,
            )
            return planned
        local = [(z, v) for z, v in planned if not z.tag.startswith("modbus.")]
        if local:
            applied = await asyncio.to_thread(self._apply_writes, local)
            if isinstance(applied, int):
                return applied
            now = time.time()
            for tag, value in applied.items():  # every zone of the tag serves it at once
                self._publish(tag, Reading(value, "good", now))
        for zone, value in planned:
            if zone.tag.startswith("modbus."):
                _, device, command = tag_path(zone.tag)
                poller = self._master.pollers.get(device) if self._master else None
                if poller is None:
                    return GATEWAY_PATH
                code = await poller.write_through(command, value)
                if code is not None:
                    return code
        return None

    def _apply_writes(self, writes: list[tuple[ServedZone, Any]]) -> int | dict[str, Any]:
        """Apply device-tag writes as one apply: the tags' new values, or an exception code."""
        from reconciler.engine.store import Store
        from reconciler.engine.writes import write_now

        with self._backend_lock:
            try:
                document = self.backend.observe()
            except Exception as exc:  # the device cannot be read: cannot write either
                log.warning("Modbus write: cannot observe the device: %s", exc)
                return DEVICE_FAILURE
            changes, applied = self._changes(document, writes)
            if isinstance(changes, int):
                return changes
            device = str(document.get("system", {}).get("hostname") or self.backend.name)
            store = Store(self.state_dir)
            try:
                result = write_now(
                    self.backend, store, device, changes, source=WRITE_SOURCE, secrets=_no_secrets
                )
            except Exception:  # a driver failure must not take the server down
                log.exception("Modbus write failed")
                return DEVICE_FAILURE
            finally:
                store.close()
        if result.outcome != "written":
            log.warning("Modbus write %s: %s", result.outcome, result.error)
            return _WRITE_CODES.get(result.outcome, DEVICE_FAILURE)
        for change in changes:
            log.info("Modbus write: %s %r -> %r", change.dotted, change.before, change.after)
        return applied

    @staticmethod
    def _changes(
        document: dict[str, Any], writes: list[tuple[ServedZone, Any]]
    ) -> tuple[list[Change] | int, dict[str, Any]]:
        """The changes the writes stand for and the tags' new values, or an exception code."""
        changes: list[Change] = []
        applied: dict[str, Any] = {}
        for zone, value in writes:
            try:
                change = device_change(document, zone.tag, value)
            except TagError as exc:
                log.info("Modbus write to zone %s refused: %s", zone.name, exc)
                return ILLEGAL_ADDRESS, applied
            except CodecError as exc:
                log.info("Modbus write to zone %s refused: %s", zone.name, exc)
                return ILLEGAL_VALUE, applied
            changes.append(change)
            applied[zone.tag] = change.after
        return changes, applied
