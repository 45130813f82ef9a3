"""The Modbus master: polls remote devices' commands and publishes the values as tags.

Each command runs on its own fixed-rate schedule (phase kept, missed slots skipped, never a
burst to catch up), starting initialDelayMs after its device starts. A request that gets
no answer after retryCount resends of responseTimeoutMs each, or a connection that fails,
marks the device offline with the error and every one of its tags bad (last value kept,
with the time it was good); the device is reconnected at most once per RECONNECT_S and
comes back online on its first answer. An exception response is the device answering: only
that command's tag goes bad.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU

from reconciler.services.modbus.codec import CodecError, Shape, decode, encode, scale, unscale
from reconciler.services.modbus.tags import Reading
from reconciler.spec.modbus import WRITE_THROUGH_FUNCTIONS, MasterCommand, MasterDevice

log = logging.getLogger(__name__)

RECONNECT_S = 1.0
"""Least time between connection attempts to a device that is offline."""
STOP_WAIT_S = 2.0
"""How long a poller waits for its tasks to end when it stops."""
CANCEL_REPEAT_S = 0.05

EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    6: "device busy",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}

Publish = Callable[[str, Reading], None]
"""Receives every new reading of a tag (on the service's event loop)."""
Lookup = Callable[[str], Reading]
"""The current reading of any tag: where write commands get a `tag`'s value."""


@dataclass(frozen=True)
class SerialLine:
    """Where a serial port id leads and how its line is set (from the observed serial area)."""

    path: str
    baudrate: int = 9600
    parity: str = "N"
    bytesize: int = 8
    stopbits: int = 1


class Offline(Exception):
    """The device did not answer or cannot be reached: the whole device is offline."""


class Refused(Exception):
    """The device answered with a Modbus exception: only this request failed."""

    def __init__(self, code: int) -> None:
        super().__init__(f"exception {code} ({EXCEPTION_NAMES.get(code, 'unknown')})")
        self.code = code


def tag_of(device: str, command: str) -> str:
    return f"modbus.{device}.{command}"


class Link:
    """One pymodbus client (a TCP connection, or a serial port shared by its devices)."""

    def __init__(self, client: AsyncModbusTcpClient | AsyncModbusSerialClient, what: str) -> None:
        self.client = client
        self.what = what
        self.lock = asyncio.Lock()
        self.retry_at = 0.0
        self.error: str | None = None

    async def ready(self) -> None:
        """Connect if needed; Offline while it cannot (at most one try per RECONNECT_S)."""
        if self.client.connected:
            return
        async with self.lock:
            if self.client.connected:
                return
            now = time.monotonic()
            if now < self.retry_at:
                raise Offline(self.error or f"cannot connect to {self.what}")
            self.retry_at = now + RECONNECT_S
            try:
                ok = await self.client.connect()
            except (OSError, ConnectionException) as exc:
                ok, self.error = False, f"cannot connect to {self.what}: {exc}"
            else:
                self.error = None if ok else f"cannot connect to {self.what}"
            if not ok:
                raise Offline(self.error)

    def close(self) -> None:
        self.client.close()


def tcp_link(device: MasterDevice) -> Link:
    assert device.tcp is not None
    tcp = device.tcp
    client = AsyncModbusTcpClient(
        tcp.host,
        port=tcp.port,
        timeout=device.response_timeout_ms / 1000,
        retries=0,  # resends are counted per device in Poller._request
        reconnect_delay=0,  # reconnecting is Link.ready's job, with its own pace
        name=device.name,
    )
    return Link(client, f"{tcp.host}:{tcp.port}")


def serial_link(line: SerialLine, framing: str, timeout_ms: int) -> Link:
    client = AsyncModbusSerialClient(
        line.path,
        framer=FramerType.ASCII if framing == "ascii" else FramerType.RTU,
        baudrate=line.baudrate,
        bytesize=line.bytesize,
        parity=line.parity,
        stopbits=line.stopbits,
        timeout=timeout_ms / 1000,
        retries=0,
        reconnect_delay=0,
    )
    return Link(client, line.path)


class Poller:
    """One remote device: its commands' schedules, its online state, its writes."""

    def __init__(self, device: MasterDevice, link: Link, publish: Publish, lookup: Lookup) -> None:
        self.device = device
        self.link = link
        self.publish = publish
        self.lookup = lookup
        transport = device.tcp or device.rtu
        assert transport is not None  # the model requires tcp or rtu
        self.unit = transport.unit_id
        self.online: bool | None = None
        self.error: str | None = None
        self.last_answer: float | None = None
        self.readings: dict[str, Reading] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def start(self) -> None:
        for cmd in self.device.commands or []:
            self.readings[cmd.name] = Reading()
            self.publish(tag_of(self.device.name, cmd.name), Reading())
            task = asyncio.create_task(self._schedule(cmd), name=f"modbus {self.device.name}")
            self._tasks.append(task)

    async def stop(self) -> None:
        """End every poll task within STOP_WAIT_S: a stop flag the schedule checks, and a
        cancel repeated until each task ends (on Python 3.11 a cancel that lands inside
        pymodbus's asyncio.wait_for as the reply arrives is lost)."""
        self._stopping = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_WAIT_S
        pending = {t for t in self._tasks if not t.done()}
        while pending and loop.time() < deadline:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=CANCEL_REPEAT_S)
        if pending:
            log.warning("modbus %s: %d poll task(s) did not stop", self.device.name, len(pending))
        for task in self._tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: a failure was logged by poll() already
        self._tasks.clear()

    def status(self) -> dict[str, Any]:
        return {
            "online": self.online,
            "error": self.error,
            "lastAnswer": self.last_answer,
            "commands": len(self.device.commands or []),
        }

    async def _schedule(self, cmd: MasterCommand) -> None:
        loop = asyncio.get_running_loop()
        period = cmd.interval_ms / 1000
        due = loop.time() + self.device.initial_delay_ms / 1000
        while not self._stopping:
            await asyncio.sleep(max(0.0, due - loop.time()))
            if self._stopping:
                break
            await self.poll(cmd)
            due += period
            late = loop.time() - due
            if late > 0:
                due += math.ceil(late / period) * period

    async def poll(self, cmd: MasterCommand) -> None:
        """Run one command now and publish its outcome."""
        tag = tag_of(self.device.name, cmd.name)
        try:
            value = await self._run(cmd)
        except Offline as exc:
            self._went_offline(str(exc))
            return
        except (Refused, CodecError) as exc:
            self._answered()
            self._set(cmd.name, self.readings[cmd.name].failed(f"{cmd.function}: {exc}"))
            return
        except Exception as exc:  # a poller must survive anything one request throws
            log.exception("modbus %s: %s failed", self.device.name, cmd.name)
            self._set(cmd.name, self.readings[cmd.name].failed(f"{cmd.function}: {exc}"))
            return
        self._answered()
        self._set(cmd.name, Reading(value, "good", time.time()))
        log.debug("modbus %s = %r", tag, value)

    def _set(self, name: str, reading: Reading) -> None:
        self.readings[name] = reading
        self.publish(tag_of(self.device.name, name), reading)

    def _answered(self) -> None:
        self.last_answer = time.time()
        if self.online is not True:
            log.info("modbus device %s is online", self.device.name)
        self.online, self.error = True, None

    def _went_offline(self, error: str) -> None:
        if self.online is not False or self.error != error:
            log.warning("modbus device %s is offline: %s", self.device.name, error)
        self.online, self.error = False, error
        for name, reading in list(self.readings.items()):
            self._set(name, reading.failed(f"device {self.device.name} offline: {error}"))

    async def _run(self, cmd: MasterCommand) -> Any:
        shape = Shape.of(cmd)
        if cmd.function.startswith("read"):
            words = await self._request(cmd.function, cmd.address, shape.size)
            return scale(decode(words, shape), cmd.scaling)
        if cmd.value is not None:
            value = cmd.value
        else:
            assert cmd.tag is not None  # validation: writes have a value or a tag
            source = self.lookup(cmd.tag)
            if source.quality != "good":
                raise CodecError(f"no good value of {cmd.tag} to write: {source.error}")
            value = source.value
        raw = encode(unscale(value, cmd.scaling), shape)
        await self._request(cmd.function, cmd.address, raw)
        return value

    async def write_through(self, command: str, value: Any) -> int | None:
        """A slave client's write to modbus.DEVICE.COMMAND, sent to the table the command
        reads; returns the exception code to answer the client with, or None."""
        cmd = next((c for c in self.device.commands or [] if c.name == command), None)
        if cmd is None or cmd.function not in WRITE_THROUGH_FUNCTIONS:
            return int(ExcCodes.ILLEGAL_ADDRESS)
        function = "writeMultipleCoils" if cmd.function == "readCoils" else "writeMultipleRegisters"
        try:
            raw = encode(unscale(value, cmd.scaling), Shape.of(cmd))
            await self._request(function, cmd.address, raw)
        except CodecError:
            return int(ExcCodes.ILLEGAL_VALUE)
        except Refused as exc:
            self._answered()
            return exc.code
        except Offline as exc:
            self._went_offline(str(exc))
            return int(ExcCodes.GATEWAY_NO_RESPONSE)
        self._answered()
        self._set(cmd.name, Reading(value, "good", time.time()))
        return None

    async def _request(self, function: str, address: int, arg: Any) -> Any:
        """One Modbus request with the device's resends; the registers or bits read."""
        await self.link.ready()
        tries = 0
        while True:
            tries += 1
            try:
                rr = await self._send(function, address, arg)
            except ConnectionException as exc:
                raise Offline(f"connection to {self.link.what} lost: {exc}") from None
            except ModbusIOException:
                if tries <= self.device.retry_count and self.link.client.connected:
                    continue
                raise Offline(
                    f"no answer from {self.link.what} unit {self.unit} within "
                    f"{self.device.response_timeout_ms} ms ({tries} tries)"
                ) from None
            if rr.isError():
                raise Refused(rr.exception_code)
            if function in ("readCoils", "readDiscrete"):
                return list(rr.bits[:arg])
            return list(rr.registers) if function.startswith("read") else None

    async def _send(self, function: str, address: int, arg: Any) -> ModbusPDU:
        client, unit = self.link.client, self.unit
        if function == "readCoils":
            return await client.read_coils(address, count=arg, device_id=unit)
        if function == "readDiscrete":
            return await client.read_discrete_inputs(address, count=arg, device_id=unit)
        if function == "readHolding":
            return await client.read_holding_registers(address, count=arg, device_id=unit)
        if function == "readInput":
            return await client.read_input_registers(address, count=arg, device_id=unit)
        if function == "writeSingleCoil":
            return await client.write_coil(address, bool(arg[0]), device_id=unit)
        if function == "writeSingleRegister":
            return await client.write_register(address, int(arg[0]), device_id=unit)
        if function == "writeMultipleCoils":
            return await client.write_coils(address, [bool(b) for b in arg], device_id=unit)
        return await client.write_registers(address, [int(w) for w in arg], device_id=unit)


LinkKey = tuple[Any, ...]


class Master:
    """Every enabled remote device; reconfigured by restarting only the devices that changed."""

    def __init__(
        self, publish: Publish, lookup: Lookup, serial_line: Callable[[int], SerialLine]
    ) -> None:
        self.publish = publish
        self.lookup = lookup
        self.serial_line = serial_line
        self.pollers: dict[str, Poller] = {}
        self._keys: dict[str, LinkKey] = {}
        self._links: dict[LinkKey, Link] = {}

    def _key(self, device: MasterDevice, devices: list[MasterDevice]) -> LinkKey:
        if device.tcp is not None:
            return (
                "tcp",
                device.name,
                device.tcp.host,
                device.tcp.port,
                device.response_timeout_ms,
            )
        assert device.rtu is not None  # the model requires tcp or rtu
        port = device.rtu.port
        # One client per serial port: its devices share the longest response timeout.
        timeout = max(d.response_timeout_ms for d in devices if d.rtu and d.rtu.port == port)
        return ("rtu", port, device.rtu.format, timeout, self.serial_line(port))

    def _link(self, key: LinkKey, device: MasterDevice) -> Link:
        if key not in self._links:
            if key[0] == "tcp":
                self._links[key] = tcp_link(device)
            else:
                self._links[key] = serial_link(key[4], key[2], key[3])
        return self._links[key]

    async def configure(self, devices: list[MasterDevice]) -> None:
        wanted = [d for d in devices if d.enabled]
        keys = {d.name: self._key(d, wanted) for d in wanted}
        by_name = {d.name: d for d in wanted}
        for name in list(self.pollers):
            if by_name.get(name) != self.pollers[name].device or keys.get(name) != self._keys[name]:
                await self.pollers.pop(name).stop()
                del self._keys[name]
        for device in wanted:
            if device.name not in self.pollers:
                link = self._link(keys[device.name], device)
                poller = Poller(device, link, self.publish, self.lookup)
                self.pollers[device.name] = poller
                self._keys[device.name] = keys[device.name]
                poller.start()
        used = set(self._keys.values())
        for key in [k for k in self._links if k not in used]:
            self._links.pop(key).close()

    async def stop(self) -> None:
        await self.configure([])

    def status(self) -> dict[str, dict[str, Any]]:
        return {name: poller.status() for name, poller in self.pollers.items()}
