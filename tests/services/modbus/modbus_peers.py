"""Real Modbus peers for the tests, on loopback: pymodbus clients, a pymodbus server standing
in for a remote PLC, and a device that never answers. (Not conftest.py: test modules import
these by a name no other test directory uses.)"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from pymodbus.client import ModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Any], what: str, limit: float = 20.0) -> Any:
    """Poll until `check()` is truthy; a bound on waiting, not a timing assertion."""
    deadline = time.monotonic() + limit
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what} (last: {result!r})")
        time.sleep(0.02)


def client(port: int, framer: FramerType = FramerType.SOCKET, **options: Any) -> ModbusTcpClient:
    c = ModbusTcpClient(LOOPBACK, port=port, framer=framer, timeout=3, retries=0, **options)
    assert c.connect(), f"cannot connect to the service on port {port}"
    return c


def exception_code(response: Any) -> int | None:
    return int(response.exception_code) if response.isError() else None


class Plc:
    """A remote device: pymodbus's server and simulated device in a thread of its own.

    `holding` and `input` are its register memory (address -> value), read by every
    request and updated by writes, so a test can change what the PLC reports.
    """

    def __init__(self, port: int, unit: int = 1, framer: FramerType = FramerType.SOCKET) -> None:
        self.port, self.unit, self.framer = port, unit, framer
        self.holding: dict[int, int] = {}
        self.input: dict[int, int] = {}
        self.coils = [False] * 32
        self.writes: list[tuple[int, int, list[Any]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: ModbusTcpServer | None = None
        self._thread: threading.Thread | None = None

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        memory = {3: self.holding, 6: self.holding, 16: self.holding, 4: self.input}.get(
            function_code
        )
        if memory is None:  # coils: the simulated device keeps them itself
            if values:
                self.writes.append((function_code, address, list(values)))
            return None
        if values:
            self.writes.append((function_code, address, list(values)))
            for i, value in enumerate(values):
                memory[address + i] = int(value)
        for i in range(count):
            registers[address - start_address + i] = memory.get(address + i, 0)
        return None

    def _device(self) -> SimDevice:
        return SimDevice(
            id=self.unit,
            simdata=(
                [SimData(0, values=list(self.coils), datatype=DataType.BITS)],
                [SimData(0, count=32, values=False, datatype=DataType.BITS)],
                [SimData(0, count=200, values=0, datatype=DataType.REGISTERS)],
                [SimData(0, count=200, values=0, datatype=DataType.REGISTERS)],
            ),
            action=self._action,
        )

    def start(self) -> Plc:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop

            async def listen() -> None:
                self._server = ModbusTcpServer(
                    self._device(), address=(LOOPBACK, self.port), framer=self.framer
                )
                await self._server.serve_forever(background=True)

            loop.run_until_complete(listen())
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name=f"plc:{self.port}", daemon=True)
        self._thread.start()
        assert ready.wait(10), "the PLC stand-in did not start"
        return self

    def stop(self) -> None:
        loop, server, thread = self._loop, self._server, self._thread
        if loop is None or server is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(server.shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._loop = self._server = self._thread = None


class SilentDevice:
    """Accepts TCP connections and counts Modbus requests, but never answers one."""

    def __init__(self) -> None:
        self.sock = socket.create_server((LOOPBACK, 0))
        self.port = int(self.sock.getsockname()[1])
        self.requests = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.sock.settimeout(0.1)
        conns: list[socket.socket] = []
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
                conn.settimeout(0.05)
                conns.append(conn)
            except TimeoutError:
                pass
            for conn in conns:
                try:
                    data = conn.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    data = b""
                while len(data) >= 6:  # MBAP header: length at bytes 4..5
                    size = 6 + int.from_bytes(data[4:6], "big")
                    self.requests += 1
                    data = data[size:]
        for conn in conns:
            conn.close()
        self.sock.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
