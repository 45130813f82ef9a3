"""Modbus: the slave the agent serves (zones mapped to tags) and remote devices it polls.

Ranges follow the gateway doc (Modbus Module API): slave id 1..255, address 0..65535,
initial delay 0..30000 ms, retry count 0..5, response timeout 10..120000 ms, the four
non-deprecated swap modes and the intercept/point scaling functions. Protocol limits
(2000 bits or 125 registers per read, 1968/123 per write) come from the Modbus spec.
Checks that need several fields or list items are in `document_problems`, so each
problem points at the exact field; tags are checked against the model in `tag_problems`.
"""

import difflib
import math
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from reconciler.profiles import HardwareProfile
from reconciler.spec.base import HostOrIp, IPAddress, Loc, Name, Port, SpecModel
from reconciler.spec.serial import describe_ports

MAX_ADDRESS = 65535

Table = Literal["coils", "discrete", "holding", "input"]
DataTypeName = Literal[
    "bool", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "string"
]
SwapMode = Literal["none", "byte", "word", "byte-word"]
Function = Literal[
    "readCoils",
    "readDiscrete",
    "readHolding",
    "readInput",
    "writeSingleCoil",
    "writeSingleRegister",
    "writeMultipleCoils",
    "writeMultipleRegisters",
]
SerialFormat = Literal["rtu", "ascii"]

WIDTH: dict[str, int] = {
    "bool": 1,
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "float32": 2,
    "int64": 4,
    "uint64": 4,
    "float64": 4,
    "string": 1,
}
"""Registers (or bits, for bool) one value occupies; a string packs 2 characters a register."""

BIT_TABLES = ("coils", "discrete")
WRITABLE_TABLES = ("coils", "holding")
BIT_FUNCTIONS = ("readCoils", "readDiscrete", "writeSingleCoil", "writeMultipleCoils")
WRITE_FUNCTIONS = (
    "writeSingleCoil",
    "writeSingleRegister",
    "writeMultipleCoils",
    "writeMultipleRegisters",
)
FUNCTION_LIMIT: dict[str, int] = {
    "readCoils": 2000,
    "readDiscrete": 2000,
    "readHolding": 125,
    "readInput": 125,
    "writeSingleCoil": 1,
    "writeSingleRegister": 1,
    "writeMultipleCoils": 1968,
    "writeMultipleRegisters": 123,
}
"""Most bits/registers one request may carry (Modbus Application Protocol v1.1b3)."""
TABLE_LIMIT: dict[str, int] = {"coils": 2000, "discrete": 2000, "holding": 125, "input": 125}
"""A zone must fit one read request, so a client always reads it consistently."""

_INT_RANGE: dict[str, tuple[int, int]] = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}

# The doc's names for the same things, accepted and normalised: its tag data types
# (boolean/float/double) and its swap mode descriptions (0, 1, 4 and 5 in the doc).
_TYPE_ALIASES = {"boolean": "bool", "float": "float32", "double": "float64"}
_SWAP_ALIASES = {
    "big-endian": "none",
    "big-endian-byte-swap": "byte",
    "little-endian": "byte-word",
    "little-endian-byte-swap": "word",
}


def _normalise(aliases: dict[str, str]) -> Any:
    def convert(value: Any) -> Any:
        return aliases.get(value.lower(), value) if isinstance(value, str) else value

    return BeforeValidator(convert)


DataType = Annotated[DataTypeName, _normalise(_TYPE_ALIASES)]
Swap = Annotated[SwapMode, _normalise(_SWAP_ALIASES)]

_TAG = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$")


def _tag(value: str) -> str:
    if not _TAG.match(value):
        raise ValueError(
            f"{value!r} is not a dotted path like gpio.0.level: segments of letters, digits, "
            "'_' or '-' joined by single dots, starting with a letter"
        )
    return value


Tag = Annotated[str, Field(max_length=256), AfterValidator(_tag)]
"""A dotted path into the observed state (gpio.0.level, system.cpuPercent, ...); only the
syntax is checked here, whether it exists is checked against an observed state."""

Finite = Annotated[float, Field(allow_inf_nan=False)]


class InterceptScaling(SpecModel):
    """value = raw * slope + offset."""

    slope: Finite = 1.0
    """Multiplier applied to the raw value (doc: interceptSlope, default 1)."""
    offset: Finite = 0.0
    """Added after the slope (doc: interceptOffset, default 0)."""


class PointScaling(SpecModel):
    """Maps sourceMin..sourceMax linearly onto targetMin..targetMax."""

    source_min: Finite
    """Raw value that maps to targetMin (doc: pointSourceMin)."""
    source_max: Finite
    """Raw value that maps to targetMax; must differ from sourceMin (doc: pointSourceMax)."""
    target_min: Finite
    """Engineering value at sourceMin (doc: pointTargetMin)."""
    target_max: Finite
    """Engineering value at sourceMax (doc: pointTargetMax)."""


class Scaling(SpecModel):
    """Exactly one scaling function; leave `scaling` out for raw values (doc: disable)."""

    intercept: InterceptScaling | None = None
    point: PointScaling | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.intercept is None) == (self.point is None):
            raise ValueError("give exactly one scaling function: intercept or point")
        return self


Address = Annotated[int, Field(ge=0, le=MAX_ADDRESS)]
Quantity = Annotated[int, Field(ge=1, le=MAX_ADDRESS + 1)]


class _Values:
    """What zones and master commands share: a run of bits or registers holding values.

    A plain mixin (no fields) so each model lists its own fields in a readable order.
    """

    if TYPE_CHECKING:  # declared by the models; annotated here for mypy only
        address: int
        quantity: int | None
        data_type: str | None
        swap: str
        scaling: Scaling | None

    def _bits(self) -> bool:
        raise NotImplementedError

    @property
    def value_type(self) -> str:
        """dataType, or the default for the table/function: bool on bits, else uint16."""
        if self.data_type is not None:
            return self.data_type
        return "bool" if self._bits() else "uint16"

    @property
    def size(self) -> int:
        """Bits or registers covered: quantity, or one value's width."""
        return self.quantity if self.quantity is not None else WIDTH[self.value_type]


class RefTag(SpecModel):
    """A tag at an address of its own inside a zone (doc: refTags[])."""

    tag: Tag
    """The observed-state path served there."""
    address: Address
    """Its first address, inside the zone's address..address+quantity-1."""


class SlaveZone(_Values, SpecModel):
    """A block of one table that the agent's Modbus slave serves from a tag."""

    name: Name
    """Unique among zones; plans and status refer to the zone by it."""
    table: Table
    """coils, discrete (inputs), holding (registers) or input (registers)."""
    address: Address
    """First address, the 0-based protocol address 0..65535."""
    quantity: Quantity | None = None
    """Bits or registers covered; default: one value of dataType (required for string)."""
    data_type: DataType | None = None
    """bool, int16, uint16, int32, uint32, int64, uint64, float32, float64 or string;
    default bool on coils/discrete, uint16 on holding/input."""
    tag: Tag | None = None
    """Where the value comes from (and goes to, if writable): a dotted observed-state path.
    Give one of tag, tags or refTags."""
    tags: list[Tag] | None = Field(default=None, min_length=1)
    """Several tags served one after another from `address`, one value of dataType each
    (doc: tags[]; quantity defaults to all of them). The doc's zone creates these tags in
    its tag hub; here every tag is a path into the observed state."""
    ref_tags: list[RefTag] | None = Field(default=None, min_length=1)
    """Tags at addresses of their own inside the zone (doc: refTags[], tags referenced from
    the tag list with their own address); quantity is then required: the zone's span."""
    writable: bool = False
    """Let Modbus clients write the zone (and so the tag); coils and holding only."""
    swap: Swap = "none"
    """Byte order of multi-byte values: none (AB CD), byte (BA DC), word (CD AB) or
    byte-word (DC BA); the doc's modes 0, 1, 5 and 4 (its 2 and 3 are deprecated)."""
    scaling: Scaling | None = None
    """Linear scaling between the raw and the engineering value; numeric types only."""

    def _bits(self) -> bool:
        return self.table in BIT_TABLES

    @property
    def size(self) -> int:
        """quantity, else one value of dataType per tag."""
        if self.quantity is None and self.tags is not None:
            return len(self.tags) * WIDTH[self.value_type]
        return super().size

    def served(self) -> list["ServedZone"]:
        """The zone as the slave serves it: one part per tag, each with its own address."""
        skip = {"tags", "ref_tags", "tag", "address", "quantity", "name"}
        fields = {key: value for key, value in self if key not in skip}
        if self.tag is not None:
            parts = [(self.name, self.tag, self.address, self.quantity)]
        elif self.tags is not None:
            width = WIDTH[self.value_type]
            parts = [
                (f"{self.name}.{i}", tag, self.address + i * width, width)
                for i, tag in enumerate(self.tags)
            ]
        else:
            refs = self.ref_tags or []
            parts = [(f"{self.name}.{ref.tag}", ref.tag, ref.address, None) for ref in refs]
        return [
            ServedZone.model_construct(
                **fields, name=name, tag=tag, address=address, quantity=quantity
            )
            for name, tag, address, quantity in parts
        ]


class ServedZone(SlaveZone):
    """One tag's part of a zone (SlaveZone.served): what the slave maps to registers."""

    tag: Tag


LogLevel = Literal["ALL", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF"]
"""The doc's log levels of the Modbus daemon (slave and master control)."""
PROVIDER_NAME = r"^[A-Za-z0-9_.~-]{1,128}$"


class SlaveTcp(SpecModel):
    enabled: bool = True
    """Serve Modbus TCP; false keeps the settings but stops listening (doc: enable)."""
    port: Port = 502
    """TCP port to listen on (doc: listenPort, default 502; 502 needs privileges)."""
    unit_id: int = Field(default=1, ge=1, le=255)
    """Unit (slave) id answered to (doc: slaveId 1..255)."""
    bind_address: IPAddress | None = None
    """Listen on this address only; default all addresses (docs silent)."""
    keep_alive_time: int | None = Field(default=None, ge=0, le=99)
    """Minutes a client connection may stay silent before TCP keep-alive probes check the
    peer, so dead clients are dropped; 0 turns probing off (doc: keepAliveTime 0..99; the doc
    gives no unit, minutes is the unit of the vendor's gateways' TCP alive check)."""
    name: str = Field(default="modbus_tcp_slave", pattern=PROVIDER_NAME)
    """Provider name of the slave's tags (doc: name, 1..128 of letters, digits, _ - . ~);
    the agent names the slave by it in its log."""


class SlaveRtu(SpecModel):
    enabled: bool = True
    """Serve Modbus RTU/ASCII on the serial port; false keeps the settings but stops."""
    port: int = Field(ge=1)
    """Serial port id (see `serial.ports`); the model's profile says which exist."""
    unit_id: int = Field(default=1, ge=1, le=247)
    """Slave address on the bus, 1..247 (0 is broadcast, 248..255 reserved on serial lines)."""
    format: SerialFormat = "rtu"
    """Framing: rtu or ascii."""


class ModbusSlave(SpecModel):
    tcp: SlaveTcp | None = None
    """Serve over TCP."""
    rtu: SlaveRtu | None = None
    """Serve on a serial line."""
    zones: list[SlaveZone] | None = None
    """The register map; both transports serve the same zones."""
    log_level: LogLevel | None = None
    """Log level of the slave (doc: slave control logLevel; ALL and TRACE log as DEBUG,
    FATAL as CRITICAL, OFF logs nothing)."""

    def served_zones(self) -> list[ServedZone]:
        """Every zone split into one part per tag, as the service maps them."""
        return [part for zone in self.zones or [] for part in zone.served()]


class MasterTcp(SpecModel):
    host: HostOrIp
    """The remote device's address or host name."""
    port: Port = 502
    """Its Modbus TCP port."""
    unit_id: int = Field(default=1, ge=0, le=255)
    """Unit id to address; 0 or 255 for a device that ignores it (Modbus TCP spec)."""


class MasterRtu(SpecModel):
    port: int = Field(ge=1)
    """Serial port id the device is wired to; devices on one port share the bus."""
    unit_id: int = Field(default=1, ge=1, le=247)
    """Slave address of the device on the bus, 1..247."""
    format: SerialFormat = "rtu"
    """Framing: rtu or ascii (doc: format 0/1); all devices on one port must agree."""
    frame_interval_ms: int = Field(default=0, ge=0, le=10000)
    """Silent interval between frames (t3.5); 0 derives it from the baud rate (doc)."""
    char_interval_ms: int = Field(default=0, ge=0, le=10000)
    """Longest gap inside a frame (t1.5); 0 derives it from the baud rate (doc)."""


class MasterCommand(_Values, SpecModel):
    """One request the agent repeats every intervalMs.

    Read results appear in the observed state as modbus.DEVICE.COMMAND (e.g.
    modbus.plc1.speed), so zones and the cloud uplink can use them as tags. Writes send
    `value`, or the current value of `tag`.
    """

    name: Name
    """Unique within the device."""
    function: Function
    """readCoils, readDiscrete, readHolding, readInput, writeSingleCoil, writeSingleRegister,
    writeMultipleCoils or writeMultipleRegisters (function codes 1-6, 15, 16)."""
    address: Address
    """First address, the 0-based protocol address 0..65535."""
    quantity: Quantity | None = None
    """Bits or registers to read or write; default: one value of dataType."""
    data_type: DataType | None = None
    """Type of the values; default bool for coil/discrete functions, uint16 for registers."""
    interval_ms: int = Field(default=1000, ge=10, le=86_400_000)
    """Polling period in ms (docs silent; 10 ms .. 1 day)."""
    swap: Swap = "none"
    """Byte order of multi-byte values, as for zones."""
    scaling: Scaling | None = None
    """Linear scaling between the raw and the engineering value; numeric types only."""
    tag: Tag | None = None
    """Write commands: the observed-state path whose value is written."""
    value: bool | int | float | str | None = None
    """Write commands: a constant to write instead of a tag."""

    def _bits(self) -> bool:
        return self.function in BIT_FUNCTIONS


RESERVED_DEVICE_NAMES = ("slave", "master")
"""Observed values live at modbus.DEVICE.COMMAND, beside modbus.slave and modbus.master."""


class MasterDevice(SpecModel):
    name: Name
    """Unique among devices; its values appear as modbus.NAME.COMMAND in the observed state
    (so not slave or master)."""
    enabled: bool = True
    """Poll the device; false keeps the definition but stops polling."""
    tcp: MasterTcp | None = None
    """Reach the device over Modbus TCP (give tcp or rtu)."""
    rtu: MasterRtu | None = None
    """Reach the device on a serial line (give tcp or rtu)."""
    retry_count: int = Field(default=3, ge=0, le=5)
    """Resends when a request gets no answer (doc: retryCount 0..5, default 3)."""
    response_timeout_ms: int = Field(default=1000, ge=10, le=120000)
    """How long to wait for an answer (doc: responseTout 10..120000 ms, default 1000)."""
    initial_delay_ms: int = Field(default=0, ge=0, le=30000)
    """Wait after the service starts before the first request (doc: initialDelay 0..30000)."""
    commands: list[MasterCommand] | None = None
    """Requests to repeat."""

    @model_validator(mode="after")
    def _one_transport(self) -> Self:
        if (self.tcp is None) == (self.rtu is None):
            raise ValueError("give exactly one of tcp or rtu")
        return self


class ModbusMaster(SpecModel):
    devices: list[MasterDevice] | None = None
    """Remote Modbus devices the agent polls."""
    log_level: LogLevel | None = None
    """Log level of the master (doc: master control logLevel), mapped as the slave's."""


class ModbusSpec(SpecModel):
    slave: ModbusSlave | None = None
    """The Modbus slave (server) the agent runs."""
    master: ModbusMaster | None = None
    """Remote devices the agent polls as Modbus master (client)."""


# --- checks that need several fields or list items ---------------------------------------


def _unit(bits: bool, n: int = 2) -> str:
    return ("bit" if bits else "register") + ("s" if n != 1 else "")


def _shape_problems(item: _Values, bits: bool, limit: int, what: str) -> Iterator[tuple[Loc, str]]:
    """Type, quantity and scaling rules shared by zones and commands (loc relative to item)."""
    vtype = item.value_type
    if bits and vtype != "bool":
        yield ("dataType",), f"{what} carries single bits: dataType must be bool, not {vtype}"
        return
    if not bits and vtype == "bool":
        yield (
            ("dataType",),
            f"bool needs coils or discrete inputs; {what} carries registers "
            "(use int16/uint16 for a register flag)",
        )
        return
    width = WIDTH[vtype]
    if vtype == "string" and item.quantity is None:
        yield ("quantity",), "a string needs a quantity (registers, 2 characters each)"
    elif item.size % width:
        yield (
            ("quantity",),
            f"{vtype} takes {width} registers per value; quantity {item.size} "
            f"is not a multiple of {width}",
        )
    elif item.size > limit:
        hint = ""
        if limit == 1:
            hint = "; use " + ("writeMultipleCoils" if bits else "writeMultipleRegisters")
        # quantity defaults to one value of dataType: blame the field the size came from
        where = "quantity" if item.quantity is not None else "dataType"
        yield (
            (where,),
            f"{what} carries at most {limit} {_unit(bits, limit)} per request, "
            f"not {item.size}{hint}",
        )
    last = item.address + item.size - 1
    if last > MAX_ADDRESS:
        where = "quantity" if item.quantity is not None else "address"
        yield (
            (where,),
            f"addresses {item.address}..{last} run past the last address {MAX_ADDRESS}",
        )
    if bits and item.swap != "none":
        yield ("swap",), "swap applies to registers, not to single bits"
    if item.scaling is not None:
        if vtype in ("bool", "string"):
            yield ("scaling",), f"scaling needs a numeric dataType, not {vtype}"
        point = item.scaling.point
        if point is not None and point.source_min == point.source_max:
            yield ("scaling", "point", "sourceMax"), "sourceMax must differ from sourceMin"


def _invertible(scaling: Scaling | None) -> bool:
    if scaling is None:
        return True
    if scaling.intercept is not None:
        return scaling.intercept.slope != 0
    point = scaling.point
    return point is None or point.target_min != point.target_max


def _zone_problems(zones: list[SlaveZone]) -> Iterator[tuple[Loc, str]]:
    for i, zone in enumerate(zones):
        loc: Loc = ("slave", "zones", i)
        bits = zone.table in BIT_TABLES
        what = {
            "coils": "a coils zone",
            "discrete": "a discrete zone",
            "holding": "a holding register zone",
            "input": "an input register zone",
        }[zone.table]
        for sub, msg in _shape_problems(zone, bits, TABLE_LIMIT[zone.table], what):
            yield (*loc, *sub), msg
        if zone.writable and zone.table not in WRITABLE_TABLES:
            yield (
                (*loc, "writable"),
                f"{zone.table} is read-only in Modbus; writable zones need coils or holding",
            )
        for sub, msg in _tag_list_problems(zone):
            yield (*loc, *sub), msg
        if zone.writable and not _invertible(zone.scaling):
            yield (
                (*loc, "scaling"),
                "a writable zone needs invertible scaling (non-zero slope, targetMin != targetMax)",
            )
    yield from _overlaps(zones)


def _tag_list_problems(zone: SlaveZone) -> Iterator[tuple[Loc, str]]:
    """One of tag, tags or refTags; their values fit the zone and do not overlap."""
    given = [k for k, v in (("tag", zone.tag), ("tags", zone.tags), ("refTags", zone.ref_tags))
             if v is not None]  # fmt: skip
    if not given:
        yield ("tag",), "required field is missing (or give tags or refTags)"
        return
    if len(given) > 1:
        yield (given[1],), f"give one of tag, tags or refTags, not {' and '.join(given)}"
        return
    if given == ["tag"]:
        return
    if zone.value_type == "string":
        yield ("dataType",), f"{given[0]} take one value each; a string zone takes one tag"
        return
    width = WIDTH[zone.value_type]
    if zone.tags is not None and zone.quantity not in (None, len(zone.tags) * width):
        yield (
            ("quantity",),
            f"{len(zone.tags)} tags of {zone.value_type} cover {len(zone.tags) * width}, "
            f"not {zone.quantity}; leave quantity out",
        )
    if zone.ref_tags is None:
        return
    if zone.quantity is None:
        yield ("refTags",), "refTags need quantity: the span of the zone they lie in"
        return
    end = zone.address + zone.quantity
    taken: list[tuple[int, int]] = []
    for k, ref in enumerate(zone.ref_tags):
        span = (ref.address, ref.address + width - 1)
        if ref.address < zone.address or span[1] >= end:
            yield (
                ("refTags", k, "address"),
                f"{ref.address}..{span[1]} is outside the zone ({zone.address}..{end - 1})",
            )
        elif any(_overlap(span, other) for other in taken):
            yield ("refTags", k, "address"), f"{ref.address} overlaps an earlier refTag"
        taken.append(span)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def zone_tags(zone: SlaveZone) -> list[tuple[Loc, str]]:
    """Each tag of a zone with where it is written (relative to the zone)."""
    if zone.tag is not None:
        return [(("tag",), zone.tag)]
    if zone.tags is not None:
        return [(("tags", k), tag) for k, tag in enumerate(zone.tags)]
    return [(("refTags", k, "tag"), ref.tag) for k, ref in enumerate(zone.ref_tags or [])]


def _overlaps(zones: list[SlaveZone]) -> Iterator[tuple[Loc, str]]:
    """Zones of one table must not share addresses; reported at the later zone's address."""
    by_table: dict[str, list[tuple[int, int, int]]] = {}
    for i, zone in enumerate(zones):
        by_table.setdefault(zone.table, []).append((zone.address, zone.address + zone.size - 1, i))
    found: dict[int, str] = {}
    for table, spans in by_table.items():
        spans.sort()
        reach: tuple[int, int, int] | None = None  # the span reaching furthest so far
        for span in spans:
            if reach is not None and span[0] <= reach[1]:
                first, second = sorted((reach, span), key=lambda s: s[2])
                if second[2] not in found:
                    other = zones[first[2]]
                    found[second[2]] = (
                        f"overlaps zone {other.name!r} ({table} {first[0]}..{first[1]})"
                    )
            if reach is None or span[1] > reach[1]:
                reach = span
    for i in sorted(found):
        yield ("slave", "zones", i, "address"), found[i]


def _write_value_problems(cmd: MasterCommand) -> Iterator[tuple[Loc, str]]:
    if cmd.function not in WRITE_FUNCTIONS:
        for field, present in (("tag", cmd.tag is not None), ("value", cmd.value is not None)):
            if present:
                yield (field,), f"{field} only applies to write functions, not {cmd.function}"
        return
    if (cmd.tag is None) == (cmd.value is None):
        yield ("function",), f"{cmd.function} needs exactly one of tag or value (what to write)"
        return
    value, vtype = cmd.value, cmd.value_type
    if value is None:
        return
    if vtype == "bool":
        ok = isinstance(value, bool)
    elif vtype == "string":
        ok = isinstance(value, str)
    elif vtype in _INT_RANGE:
        lo, hi = _INT_RANGE[vtype]
        ok = isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
    else:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok:
        yield ("value",), f"{value!r} is not a valid {vtype} value"


def _device_problems(
    devices: list[MasterDevice], slave_port: int | None
) -> Iterator[tuple[Loc, str]]:
    seen_units: dict[tuple[Any, ...], str] = {}
    bus: dict[int, tuple[str, MasterRtu]] = {}
    for i, dev in enumerate(devices):
        loc: Loc = ("master", "devices", i)
        if dev.name in RESERVED_DEVICE_NAMES:
            yield (
                (*loc, "name"),
                f"{dev.name!r} is reserved: a device's values appear as modbus.NAME.COMMAND "
                "next to modbus.slave and modbus.master",
            )
        for j, cmd in enumerate(dev.commands or []):
            cloc = (*loc, "commands", j)
            bits = cmd.function in BIT_FUNCTIONS
            what = cmd.function
            for sub, msg in _shape_problems(cmd, bits, FUNCTION_LIMIT[cmd.function], what):
                yield (*cloc, *sub), msg
            for sub, msg in _write_value_problems(cmd):
                yield (*cloc, *sub), msg
        if dev.tcp is not None:
            key: tuple[Any, ...] = ("tcp", dev.tcp.host, dev.tcp.port, dev.tcp.unit_id)
            where: Loc = (*loc, "tcp", "unitId")
        elif dev.rtu is not None:
            key = ("rtu", dev.rtu.port, dev.rtu.unit_id)
            where = (*loc, "rtu", "unitId")
            rtu = dev.rtu
            if rtu.port == slave_port:
                yield (
                    (*loc, "rtu", "port"),
                    f"serial port {rtu.port} is the Modbus RTU slave's port; "
                    "one port cannot be slave and master",
                )
            if rtu.port in bus:
                other_name, other = bus[rtu.port]
                for attr, alias in (
                    ("format", "format"),
                    ("frame_interval_ms", "frameIntervalMs"),
                    ("char_interval_ms", "charIntervalMs"),
                ):
                    if getattr(rtu, attr) != getattr(other, attr):
                        yield (
                            (*loc, "rtu", alias),
                            f"device {other_name!r} on serial port {rtu.port} uses "
                            f"{alias} {getattr(other, attr)!r}; devices on one bus must agree",
                        )
            else:
                bus[rtu.port] = (dev.name, rtu)
        else:
            continue
        if key in seen_units:
            yield (
                where,
                f"same unit as device {seen_units[key]!r}; "
                "put both devices' commands in one device",
            )
        else:
            seen_units[key] = dev.name


def document_problems(spec: ModbusSpec) -> Iterator[tuple[Loc, str]]:
    """Zone layout, type/quantity rules, write sources and bus consistency."""
    slave_port = None
    if spec.slave is not None:
        if spec.slave.rtu is not None:
            slave_port = spec.slave.rtu.port
        yield from _zone_problems(spec.slave.zones or [])
    if spec.master is not None:
        yield from _device_problems(spec.master.devices or [], slave_port)


def capability_problems(spec: ModbusSpec, profile: HardwareProfile) -> Iterator[tuple[Loc, str]]:
    yield from _port_problems(spec, profile)
    yield from tag_problems(spec, profile)


def _port_problems(spec: ModbusSpec, profile: HardwareProfile) -> Iterator[tuple[Loc, str]]:
    ports: list[tuple[Loc, int]] = []
    if spec.slave is not None and spec.slave.rtu is not None:
        ports.append((("slave", "rtu", "port"), spec.slave.rtu.port))
    if spec.master is not None:
        for i, dev in enumerate(spec.master.devices or []):
            if dev.rtu is not None:
                ports.append((("master", "devices", i, "rtu", "port"), dev.rtu.port))
    for loc, port in ports:
        if port not in profile.serial_ports:
            yield loc, f"{profile.model} has {describe_ports(profile)}, not serial port {port}"


# --- tags: which paths exist on the model and which accept writes --------------------------

TAG_ROOTS = ("system", "gpio", "io", "hwmon", "watchdog", "reconciler", "modbus")
"""Where tags point: the device's telemetry and configuration, the reconciler's own sync
state, and modbus.DEVICE.COMMAND values polled by the master."""

WRITE_THROUGH_FUNCTIONS = ("readHolding", "readCoils")
"""A writable zone on modbus.DEVICE.COMMAND writes to the remote table the command reads."""

_TAG_EXAMPLES = {
    "system": "system.cpuPercent",
    "gpio": "gpio.pins.0.level",
    "io": "io.di.1.state",
    "hwmon": "hwmon.temperatures.CPU",
    "watchdog": "watchdog.timeoutSeconds",
    "reconciler": "reconciler.syncState",
    "modbus": "modbus.DEVICE.COMMAND",
}
_WRITABLE_HINT = (
    "writable zones need gpio.pins.N.level, io.do.N.state, watchdog.enabled, "
    "watchdog.timeoutSeconds or a readHolding/readCoils master command"
)


def tag_path(tag: str) -> tuple[str, ...]:
    """The observed-state path a tag names: gpio.N.level is short for gpio.pins.N.level."""
    parts = tuple(tag.split("."))
    if len(parts) == 3 and parts[0] == "gpio" and parts[1].isdigit():
        return ("gpio", "pins", parts[1], parts[2])
    return parts


def tag_writable(path: tuple[str, ...], command: MasterCommand | None = None) -> bool:
    """Whether a Modbus write to this tag can be carried out (by a driver or the master)."""
    match path:
        case ("gpio", "pins", _, "level") | ("io", "do", _, "state"):
            return True
        case ("watchdog", "enabled" | "timeoutSeconds"):
            return True
        case ("modbus", _, _):
            return command is not None and command.function in WRITE_THROUGH_FUNCTIONS
    return False


def _channel_problem(kind: str, channel: str, count: int, first: int, model: str) -> str | None:
    if channel.isdigit() and first <= int(channel) < first + count:
        return None
    have = f"{kind} {first}..{first + count - 1}" if count else f"no {kind}"
    return f"{model} has {have}, not {channel!r}"


def _tag_problem(
    tag: str, profile: HardwareProfile, commands: dict[tuple[str, str], MasterCommand]
) -> str | None:
    """Why `tag` cannot exist on this model, or None when it can."""
    path = tag_path(tag)
    root = path[0]
    if root not in TAG_ROOTS:
        close = difflib.get_close_matches(root, TAG_ROOTS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown tag root {root!r}{hint}; tags start with " + ", ".join(TAG_ROOTS)
    if len(path) == 1:
        return f"name a value inside {root}, e.g. {_TAG_EXAMPLES[root]}"
    if root == "gpio":
        if len(path) != 4 or path[1] != "pins" or path[3] != "level":
            return "GPIO tags are gpio.pins.N.level (or gpio.N.level)"
        return _channel_problem("GPIO pins", path[2], profile.gpio_pins, 0, profile.model)
    if root == "io":
        if path[1] not in ("di", "do"):
            return f"I/O tags are io.di.N.FIELD or io.do.N.FIELD, not io.{path[1]}"
        count = profile.digital_inputs if path[1] == "di" else profile.digital_outputs
        if len(path) > 2:
            return _channel_problem(f"{path[1].upper()} channels", path[2], count, 1, profile.model)
        return None
    if root == "watchdog" and not profile.has_watchdog():
        return f"model {profile.model} has no hardware watchdog"
    if root == "modbus":
        if len(path) != 3:
            return "polled values are modbus.DEVICE.COMMAND"
        if (path[1], path[2]) in commands:
            return None
        if any(dev == path[1] for dev, _ in commands):
            return f"master device {path[1]!r} has no command {path[2]!r}"
        return f"no master device {path[1]!r} with commands (modbus.master.devices)"
    return None


def tag_problems(spec: ModbusSpec, profile: HardwareProfile) -> Iterator[tuple[Loc, str]]:
    """Tags of zones and write commands that cannot exist on the model, and writable zones
    whose tag cannot be written; located at the `tag` field."""
    commands: dict[tuple[str, str], MasterCommand] = {}
    devices = (spec.master.devices or []) if spec.master is not None else []
    for dev in devices:
        for cmd in dev.commands or []:
            commands.setdefault((dev.name, cmd.name), cmd)
    zones = (spec.slave.zones or []) if spec.slave is not None else []
    for i, zone in enumerate(zones):
        for sub, tag in zone_tags(zone):
            loc: Loc = ("slave", "zones", i, *sub)
            problem = _tag_problem(tag, profile, commands)
            if problem is not None:
                yield loc, problem
            elif zone.writable and zone.table in WRITABLE_TABLES:
                path = tag_path(tag)
                command = commands.get((path[1], path[2])) if len(path) == 3 else None
                if not tag_writable(path, command):
                    yield loc, f"{tag} is read-only; {_WRITABLE_HINT}"
    for i, dev in enumerate(devices):
        for j, cmd in enumerate(dev.commands or []):
            if cmd.tag is not None:
                problem = _tag_problem(cmd.tag, profile, commands)
                if problem is not None:
                    yield ("master", "devices", i, "commands", j, "tag"), problem
