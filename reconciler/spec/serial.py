"""Serial ports by id: transceiver mode and line settings (gateway doc: /serials/{id}).

Port ids are the doc's interface ids, starting at 1 (COM1 is port 1).
"""

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer

from reconciler.profiles import HardwareProfile
from reconciler.spec.base import Loc, SpecModel

SerialMode = Literal["rs232", "rs422", "rs485-2w", "rs485-4w"]
Parity = Literal["none", "odd", "even", "mark", "space"]
FlowControl = Literal["none", "rts-cts", "xon-xoff"]
BaudRate = Literal[
    50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600,
    19200, 38400, 57600, 115200, 230400, 460800, 921600,
]  # fmt: skip

# The gateway doc spells the RS-485 modes without a hyphen and names flow control by kind
# ("software" in its sample); both are accepted and normalised to the design's spelling.
_MODE_ALIASES = {"rs4852w": "rs485-2w", "rs4854w": "rs485-4w"}
_FLOW_ALIASES = {"hardware": "rts-cts", "software": "xon-xoff"}


def _normalise(aliases: dict[str, str]) -> Any:
    def convert(value: Any) -> Any:
        if isinstance(value, str):
            low = value.lower()
            return aliases.get(low, low)
        return value

    return BeforeValidator(convert)


def _stop_bits(value: float) -> float:
    if value not in (1, 1.5, 2):
        raise ValueError(f"stop bits must be 1, 1.5 or 2, not {value:g}")
    return value


StopBits = Annotated[
    float,
    AfterValidator(_stop_bits),
    PlainSerializer(lambda v: int(v) if v == int(v) else v, return_type=float),
    Field(json_schema_extra={"enum": [1, 1.5, 2]}),
]
"""1, 1.5 or 2; whole numbers serialise as integers so plans show 1, not 1.0."""


class SerialPort(SpecModel):
    """One port. Fields left out are not touched on the device."""

    mode: Annotated[SerialMode, _normalise(_MODE_ALIASES)] | None = None
    """Transceiver: rs232, rs422, rs485-2w or rs485-4w (the doc's rs4852w/rs4854w also work)."""
    baud_rate: BaudRate | None = None
    """Line speed in bit/s; one of the standard rates 50..921600."""
    parity: Annotated[Parity, _normalise({})] | None = None
    """Parity bit: none, odd, even, mark or space."""
    data_bits: Literal[5, 6, 7, 8] | None = None
    """Data bits per character, 5..8."""
    stop_bits: StopBits | None = None
    """Stop bits: 1, 1.5 (only with 5 data bits, as on a 16550 UART) or 2."""
    flow_control: Annotated[FlowControl, _normalise(_FLOW_ALIASES)] | None = None
    """none, rts-cts (hardware, RS-232 only) or xon-xoff (software)."""


class SerialSpec(SpecModel):
    ports: dict[int, SerialPort] | None = None
    """Ports by id, starting at 1; the model's profile says which exist."""


def document_problems(spec: SerialSpec) -> Iterator[tuple[Loc, str]]:
    """Combinations a UART or transceiver cannot do, located at the offending field."""
    for pid, port in (spec.ports or {}).items():
        if port.stop_bits == 1.5 and port.data_bits is not None and port.data_bits != 5:
            yield (
                ("ports", pid, "stopBits"),
                f"1.5 stop bits need 5 data bits (dataBits is {port.data_bits}); use 1 or 2",
            )
        if port.flow_control == "rts-cts" and port.mode in ("rs485-2w", "rs485-4w"):
            yield (
                ("ports", pid, "flowControl"),
                f"rts-cts flow control needs rs232 or rs422 mode, not {port.mode} "
                "(RS-485 uses RTS to switch the line direction)",
            )


def capability_problems(spec: SerialSpec, profile: HardwareProfile) -> Iterator[tuple[Loc, str]]:
    for pid in spec.ports or {}:
        if pid not in profile.serial_ports:
            yield ("ports", pid), f"{profile.model} has {describe_ports(profile)}"


def describe_ports(profile: HardwareProfile) -> str:
    """'serial ports 1, 2' or 'no serial ports', for messages here and in modbus."""
    if not profile.serial_ports:
        return "no serial ports"
    return "serial ports " + ", ".join(str(p) for p in profile.serial_ports)
