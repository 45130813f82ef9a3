"""Modbus service figures, on loopback only.

Prints:
- slave: read requests/second and p50/p99 latency of a 100-register holding read by
  10 concurrent pymodbus clients, against a ModbusService (sim backend) in its own process;
- master: poll jitter of a 100 ms command against a pymodbus server (the PLC stand-in) in
  its own process: the spread of the intervals between successive polls around 100 ms.

Every loop is bounded by a duration and a request count and stops by itself.

Run: .venv/bin/python bench/modbus.py [--seconds 5] [--poll-seconds 20] [--clients 10]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing as mp
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

LOOPBACK = "127.0.0.1"
MAX_REQUESTS_PER_CLIENT = 200_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def slave_spec(port: int) -> dict[str, Any]:
    """100 holding registers: 25 float32 and 50 uint16 zones over device telemetry."""
    float_tags = ["system.cpuPercent", "system.memoryPercent", "hwmon.temperatures.CPU",
                  "hwmon.voltages.12V", "hwmon.fanspeeds.FAN0"]  # fmt: skip
    int_tags = ["watchdog.timeoutSeconds", "gpio.pins.0.level", "hwmon.fanspeeds.FAN0"]
    zones = [
        {"name": f"f{i}", "table": "holding", "address": 2 * i, "dataType": "float32",
         "tag": float_tags[i % len(float_tags)]}
        for i in range(25)
    ] + [
        {"name": f"u{i}", "table": "holding", "address": 50 + i, "dataType": "uint16",
         "tag": int_tags[i % len(int_tags)]}
        for i in range(50)
    ]  # fmt: skip
    return {"slave": {"tcp": {"port": port, "bindAddress": LOOPBACK}, "zones": zones}}


def run_service(port: int, state_dir: str, ready: Any, stop: Any) -> None:
    """Child process: the service as the agent runs it."""
    from reconciler.drivers.sim.backend import SimBackend
    from reconciler.services.modbus.service import ModbusService
    from reconciler.spec.modbus import ModbusSpec

    backend = SimBackend.open(Path(state_dir), "UNO-2484G")
    service = ModbusService(backend, Path(state_dir))
    service.start(ModbusSpec.model_validate(slave_spec(port)))
    ready.set()
    stop.wait()
    service.stop()


def run_plc(port: int, ready: Any, stop: Any) -> None:
    """Child process: a pymodbus server with a simulated device, standing in for a PLC."""
    from pymodbus.server import ModbusTcpServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    async def main() -> None:
        device = SimDevice(
            id=1, simdata=[SimData(0, count=200, values=1234, datatype=DataType.REGISTERS)]
        )
        server = ModbusTcpServer(device, address=(LOOPBACK, port))
        await server.serve_forever(background=True)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await server.shutdown()

    asyncio.run(main())


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def hammer(port: int, clients: int, seconds: float) -> tuple[int, list[float], float]:
    from pymodbus.client import AsyncModbusTcpClient

    latencies: list[float] = []
    errors = 0

    async def one() -> None:
        nonlocal errors
        client = AsyncModbusTcpClient(LOOPBACK, port=port, timeout=5, retries=0)
        await client.connect()
        deadline = time.perf_counter() + seconds
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            if time.perf_counter() >= deadline:
                break
            t0 = time.perf_counter()
            rr = await client.read_holding_registers(0, count=100, device_id=1)
            latencies.append(time.perf_counter() - t0)
            if rr.isError() or len(rr.registers) != 100:
                errors += 1
        client.close()

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(clients)))
    return errors, latencies, time.perf_counter() - start


async def poll_intervals(port: int, seconds: float) -> list[float]:
    from reconciler.services.modbus.master import Master, SerialLine
    from reconciler.services.modbus.tags import Reading
    from reconciler.spec.modbus import MasterDevice

    stamps: list[float] = []
    loop = asyncio.get_running_loop()

    def publish(tag: str, reading: Reading) -> None:
        if reading.quality == "good":
            stamps.append(loop.time())

    device = MasterDevice.model_validate(
        {
            "name": "plc",
            "tcp": {"host": LOOPBACK, "port": port},
            "commands": [
                {"name": "speed", "function": "readHolding", "address": 0, "quantity": 10,
                 "intervalMs": 100}
            ],
        }
    )  # fmt: skip

    def no_serial(port: int) -> SerialLine:
        raise ValueError("this bench polls over TCP only")

    master = Master(publish, lambda tag: Reading(), no_serial)
    await master.configure([device])
    await asyncio.sleep(seconds)
    await master.stop()
    return [b - a for a, b in itertools.pairwise(stamps)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="of slave reads")
    parser.add_argument("--poll-seconds", type=float, default=20.0, help="of master polling")
    parser.add_argument("--clients", type=int, default=10)
    args = parser.parse_args()
    ctx = mp.get_context("spawn")

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        ready, stop = ctx.Event(), ctx.Event()
        child = ctx.Process(target=run_service, args=(port, tmp, ready, stop))
        child.start()
        try:
            if not ready.wait(60):
                print("the service did not start", file=sys.stderr)
                return 1
            errors, lat, wall = asyncio.run(hammer(port, args.clients, args.seconds))
        finally:
            stop.set()
            child.join(30)
    n = len(lat)
    print(f"slave: {args.clients} clients x read_holding_registers(0, 100), {wall:.1f} s")
    print(f"  requests        {n} ({errors} errors)")
    print(f"  requests/s      {n / wall:,.0f}")
    print(f"  latency p50     {percentile(lat, 50) * 1000:.2f} ms")
    print(f"  latency p99     {percentile(lat, 99) * 1000:.2f} ms")

    port = free_port()
    ready, stop = ctx.Event(), ctx.Event()
    child = ctx.Process(target=run_plc, args=(port, ready, stop))
    child.start()
    try:
        if not ready.wait(60):
            print("the PLC stand-in did not start", file=sys.stderr)
            return 1
        intervals = asyncio.run(poll_intervals(port, args.poll_seconds))
    finally:
        stop.set()
        child.join(30)
    jitter = [abs(i - 0.1) * 1000 for i in intervals]
    print(f"master: readHolding every 100 ms, {len(intervals)} intervals")
    print(f"  interval mean   {statistics.fmean(intervals) * 1000:.2f} ms")
    print(f"  jitter p50      {percentile(jitter, 50):.2f} ms")
    print(f"  jitter p99      {percentile(jitter, 99):.2f} ms")
    print(f"  jitter max      {max(jitter):.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
