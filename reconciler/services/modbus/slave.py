"""The Modbus slave: zones served from a register image that tag readings keep current.

Reads never wait for the device: the image is re-encoded when a tag's reading changes
(device observation, master polls), so serving a read is a slice. Every address has a
status, so a read touching a zone whose tag is bad gets an exception, not an old number:
0x0B (gateway target failed to respond) for a value polled from a device that is offline,
0x04 (device failure) for a tag that does not resolve or does not fit the zone. Addresses
outside every zone answer 0x02, as does a write to a zone that is not writable.
"""

from __future__ import annotations

import bisect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.exceptions import NoSuchIdException

from reconciler.services.modbus.codec import CodecError, Shape, decode, encode, scale, unscale
from reconciler.services.modbus.tags import Reading
from reconciler.spec.modbus import MAX_ADDRESS, ServedZone

SPACE = MAX_ADDRESS + 1
EMPTY, OK, FAILED, OFFLINE = 0, 1, 2, 3
"""Per-address status: no zone, value served, tag failed, polled device offline."""

TABLE_OF_FUNCTION = {
    1: "coils",
    5: "coils",
    15: "coils",
    2: "discrete",
    3: "holding",
    6: "holding",
    16: "holding",
    22: "holding",
    23: "holding",
    4: "input",
}

Words = list[int] | list[bool]
PlannedWrite = tuple[ServedZone, Any]
"""A zone and the tag value a client's write gives it."""


@dataclass
class _Table:
    zones: list[ServedZone]
    starts: list[int]
    image: list[Any] = field(default_factory=lambda: [0] * SPACE)
    status: bytearray = field(default_factory=lambda: bytearray(SPACE))


class ZoneMap:
    """The four tables of one zone layout; replaced whole when the zones change."""

    def __init__(self, zones: Sequence[ServedZone]) -> None:
        self.zones = list(zones)
        self.errors: dict[str, str] = {}
        """Zone name -> why it is not served (for status), while it is not."""
        self.tables: dict[str, _Table] = {}
        for name in ("coils", "discrete", "holding", "input"):
            mine = sorted((z for z in self.zones if z.table == name), key=lambda z: z.address)
            table = _Table(mine, [z.address for z in mine])
            if name in ("coils", "discrete"):
                table.image = [False] * SPACE
            for zone in mine:
                table.status[zone.address : zone.address + zone.size] = bytes([FAILED]) * zone.size
                self.errors[zone.name] = f"{zone.tag}: no value yet"
            self.tables[name] = table
        self._by_tag: dict[str, list[ServedZone]] = {}
        for zone in self.zones:
            self._by_tag.setdefault(zone.tag, []).append(zone)

    def tags(self) -> set[str]:
        return set(self._by_tag)

    def update(self, readings: Mapping[str, Reading]) -> None:
        """Re-encode the zones of the tags in `readings`."""
        for tag, reading in readings.items():
            for zone in self._by_tag.get(tag, ()):
                self._encode(zone, reading)

    def _encode(self, zone: ServedZone, reading: Reading) -> None:
        table = self.tables[zone.table]
        span = slice(zone.address, zone.address + zone.size)
        if reading.quality != "good":
            bad = OFFLINE if zone.tag.startswith("modbus.") else FAILED
            table.status[span] = bytes([bad]) * zone.size
            self.errors[zone.name] = reading.error or f"{zone.tag}: no value yet"
            return
        try:
            words = encode(scale(reading.value, zone.scaling), Shape.of(zone))
        except CodecError as exc:
            table.status[span] = bytes([FAILED]) * zone.size
            self.errors[zone.name] = f"{zone.tag}: {exc}"
            return
        table.image[span] = words
        table.status[span] = bytes([OK]) * zone.size
        self.errors.pop(zone.name, None)

    def read(self, table_name: str, address: int, count: int) -> Words | int:
        """The values at address..address+count-1, or the exception code to answer."""
        table = self.tables[table_name]
        end = address + count
        if end > SPACE:
            return int(ExcCodes.ILLEGAL_ADDRESS)
        status = table.status[address:end]
        if status.count(OK) == count:
            return table.image[address:end]
        if EMPTY in status:
            return int(ExcCodes.ILLEGAL_ADDRESS)
        if OFFLINE in status:
            return int(ExcCodes.GATEWAY_NO_RESPONSE)
        return int(ExcCodes.DEVICE_FAILURE)

    def _covering(self, table: _Table, address: int, end: int) -> list[ServedZone]:
        i = max(bisect.bisect_right(table.starts, address) - 1, 0)
        return [z for z in table.zones[i:] if z.address < end and z.address + z.size > address]

    def plan_write(
        self, table_name: str, address: int, values: Sequence[Any]
    ) -> list[PlannedWrite] | int:
        """What a client's write means for each zone it touches, or the exception code:
        0x02 for addresses outside writable zones or splitting a value, 0x03 for a value
        the zone cannot hold."""
        table = self.tables[table_name]
        end = address + len(values)
        if end > SPACE or EMPTY in table.status[address:end]:
            return int(ExcCodes.ILLEGAL_ADDRESS)
        planned: list[PlannedWrite] = []
        for zone in self._covering(table, address, end):
            shape = Shape.of(zone)
            lo, hi = max(address, zone.address), min(end, zone.address + zone.size)
            if not zone.writable or (lo - zone.address) % shape.width:
                return int(ExcCodes.ILLEGAL_ADDRESS)
            if (hi - zone.address) % shape.width:
                return int(ExcCodes.ILLEGAL_ADDRESS)
            words = table.image[zone.address : zone.address + zone.size]
            words[lo - zone.address : hi - zone.address] = values[lo - address : hi - address]
            try:
                value = unscale(decode(words, shape), zone.scaling)
            except CodecError:
                return int(ExcCodes.ILLEGAL_VALUE)
            planned.append((zone, value))
        return planned


Writer = Callable[["ZoneMap", str, int, list[Any]], Awaitable[int | None]]
"""Carries out a client's write to a table; returns an exception code or None."""


class ZoneContext(ModbusServerContext):
    """The datastore pymodbus calls for every request, answering from the current zone map.

    It implements the server context's protocol (async_getValues / async_setValues with
    unit, function and address) directly: zones, unit id and writer can then be swapped
    while clients stay connected, which pymodbus's simulated devices cannot.
    """

    def __init__(self, zones: ZoneMap, unit_id: int, writer: Writer) -> None:
        # The base class builds simulated devices this context does not use.
        self.zones = zones
        self.unit_id = unit_id
        self.writer = writer
        self.simdevices = []
        self.old_simulator = True  # pymodbus then calls this object, not its simulator

    def device_ids(self) -> list[int]:
        return [self.unit_id]

    def _table(self, device_id: int, func_code: int) -> str:
        if device_id != self.unit_id:
            raise NoSuchIdException(f"unit {device_id} is not served (unit id {self.unit_id})")
        return TABLE_OF_FUNCTION[func_code]

    async def async_getValues(
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> list[int] | list[bool] | ExcCodes:
        result = self.zones.read(self._table(device_id, func_code), address, count)
        return ExcCodes(result) if isinstance(result, int) else result

    async def async_setValues(
        self,
        device_id: int,
        func_code: int,
        address: int,
        values: Sequence[int] | Sequence[bool],
    ) -> ExcCodes | None:
        table = self._table(device_id, func_code)
        code = await self.writer(self.zones, table, address, list(values))
        return None if code is None else ExcCodes(code)
