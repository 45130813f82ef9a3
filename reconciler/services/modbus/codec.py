"""Values to Modbus registers and bits and back: data types, swap modes and scaling.

Pure functions, no I/O, so every combination is unit-tested without a network.

A value's canonical register form is big-endian (AB CD ...). The gateway doc's swap modes
reorder the bytes of each value: none AB CD, byte BA DC, word CD AB, byte-word DC BA.
A string is one value spanning all its registers (two characters each, NUL-padded).

Scaling is applied in the direction the value flows from its source, as the doc's scaling
functions do: the slave serves scale(tag) and a client's write stores unscale(written);
the master publishes scale(read) and writes unscale(value). Anything that cannot be
represented raises CodecError, so callers answer with an error instead of a wrong number.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.spec.modbus import WIDTH, MasterCommand, Scaling, SlaveZone

_STRUCT = {
    "int16": "h",
    "uint16": "H",
    "int32": "i",
    "uint32": "I",
    "int64": "q",
    "uint64": "Q",
    "float32": "f",
    "float64": "d",
}
_INT_BITS = {"int16": 16, "uint16": 16, "int32": 32, "uint32": 32, "int64": 64, "uint64": 64}

TRUE_WORDS = frozenset({"on", "high", "true", "yes", "enabled", "running"})
FALSE_WORDS = frozenset({"off", "low", "false", "no", "disabled", "stopped"})
"""Observed states that stand for a bit: GPIO levels, DI/DO states, service states."""


class CodecError(ValueError):
    """A value that has no representation in the zone or command (type, range, count)."""


@dataclass(frozen=True)
class Shape:
    """How a zone or command lays out its values."""

    data_type: str
    size: int
    """Bits (bool) or registers covered."""
    swap: str = "none"
    scaling: Scaling | None = None

    @classmethod
    def of(cls, item: SlaveZone | MasterCommand) -> Shape:
        return cls(item.value_type, item.size, item.swap, item.scaling)

    @property
    def bits(self) -> bool:
        return self.data_type == "bool"

    @property
    def width(self) -> int:
        """Bits or registers of one value."""
        return self.size if self.data_type == "string" else WIDTH[self.data_type]

    @property
    def count(self) -> int:
        """How many values the zone or command holds (a list when more than one)."""
        return self.size // self.width


# --- tag values as numbers and bits ---------------------------------------------------------


def number(value: Any) -> int | float:
    """A tag value as a number: bools and on/off-like states count as 1 and 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return 1
        if word in FALSE_WORDS:
            return 0
    raise CodecError(f"{value!r} is not a number or an on/off state")


def flag(value: Any) -> bool:
    return number(value) != 0


# --- scaling ---------------------------------------------------------------------------------


def _scale_one(value: Any, scaling: Scaling, inverse: bool) -> float:
    v = float(number(value))
    if scaling.intercept is not None:
        slope, offset = scaling.intercept.slope, scaling.intercept.offset
        if not inverse:
            out = v * slope + offset
        elif slope == 0:
            raise CodecError("a zero slope cannot be inverted")
        else:
            out = (v - offset) / slope
    else:
        p = scaling.point
        assert p is not None  # the model requires exactly one function
        src, dst = (p.source_min, p.source_max), (p.target_min, p.target_max)
        if inverse:
            src, dst = dst, src
        if src[0] == src[1]:
            raise CodecError("a point scaling with equal minimum and maximum cannot be inverted")
        out = dst[0] + (v - src[0]) * (dst[1] - dst[0]) / (src[1] - src[0])
    if not math.isfinite(out):
        raise CodecError(f"scaling {value!r} overflows")
    return out


def scale(value: Any, scaling: Scaling | None) -> Any:
    """The value as it leaves its source (element-wise for lists); unchanged without scaling."""
    if scaling is None:
        return value
    if isinstance(value, list):
        return [_scale_one(v, scaling, False) for v in value]
    return _scale_one(value, scaling, False)


def unscale(value: Any, scaling: Scaling | None) -> Any:
    """The inverse of `scale`: what the source would have held."""
    if scaling is None:
        return value
    if isinstance(value, list):
        return [_scale_one(v, scaling, True) for v in value]
    return _scale_one(value, scaling, True)


# --- byte order ------------------------------------------------------------------------------


def swap_bytes(raw: bytes, swap: str) -> bytes:
    """Reorder one value's big-endian bytes by swap mode (its own inverse)."""
    out = bytearray(raw)
    if swap in ("byte", "byte-word"):
        out[0::2], out[1::2] = raw[1::2], raw[0::2]
    if swap in ("word", "byte-word"):
        pairs = [out[i : i + 2] for i in range(0, len(out), 2)]
        out = bytearray(b"".join(reversed(pairs)))
    return bytes(out)


def _words(raw: bytes) -> list[int]:
    return list(struct.unpack(f">{len(raw) // 2}H", raw))


def _raw(words: Sequence[int]) -> bytes:
    try:
        return struct.pack(f">{len(words)}H", *words)
    except struct.error:
        raise CodecError(f"registers must be 0..65535, got {list(words)}") from None


# --- one value -------------------------------------------------------------------------------


def _pack_number(value: Any, data_type: str) -> bytes:
    n = number(value)
    if data_type.startswith("float"):
        try:
            return struct.pack(">" + _STRUCT[data_type], float(n))
        except OverflowError:
            raise CodecError(f"{n} does not fit a {data_type}") from None
    if isinstance(n, float):
        if not math.isfinite(n):
            raise CodecError(f"{n} has no {data_type} representation")
        n = round(n)
    bits = _INT_BITS[data_type]
    lo, hi = (
        (0, 2**bits - 1) if data_type.startswith("u") else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    )
    if not lo <= n <= hi:
        raise CodecError(f"{n} is outside the {data_type} range {lo}..{hi}")
    return struct.pack(">" + _STRUCT[data_type], n)


def _pack_string(value: Any, size: int) -> bytes:
    if value is None or isinstance(value, dict | list):
        raise CodecError(f"{value!r} is not a text value")
    text = value if isinstance(value, str) else str(value)
    raw = text.encode()[: 2 * size]
    raw = raw.decode(errors="ignore").encode()  # never end inside a multi-byte character
    return raw.ljust(2 * size, b"\0")


def _values(value: Any, count: int) -> list[Any]:
    if count == 1 and not isinstance(value, list | tuple):
        return [value]
    if not isinstance(value, list | tuple):
        raise CodecError(f"needs a list of {count} values, got {value!r}")
    if len(value) != count:
        raise CodecError(f"needs {count} values, got {len(value)}")
    return list(value)


def encode(value: Any, shape: Shape) -> list[int] | list[bool]:
    """A value (or a list of `shape.count` values) as registers, or as bits for bool."""
    if shape.bits:
        return [flag(v) for v in _values(value, shape.count)]
    if shape.data_type == "string":
        return _words(swap_bytes(_pack_string(value, shape.size), shape.swap))
    words: list[int] = []
    for v in _values(value, shape.count):
        words.extend(_words(swap_bytes(_pack_number(v, shape.data_type), shape.swap)))
    return words


def decode(words: Sequence[int] | Sequence[bool], shape: Shape) -> Any:
    """Registers (or bits) back to a value, or a list when the shape holds several."""
    if len(words) != shape.size:
        raise CodecError(f"expected {shape.size} {'bits' if shape.bits else 'registers'}")
    if shape.bits:
        bits = [bool(b) for b in words]
        return bits[0] if shape.count == 1 else bits
    raw = _raw([int(w) for w in words])
    if shape.data_type == "string":
        text = swap_bytes(raw, shape.swap).rstrip(b"\0")
        return text.decode(errors="replace")
    step = 2 * shape.width
    fmt = ">" + _STRUCT[shape.data_type]
    out = [
        struct.unpack(fmt, swap_bytes(raw[i : i + step], shape.swap))[0]
        for i in range(0, len(raw), step)
    ]
    return out[0] if shape.count == 1 else out
