"""codec: every data type under every swap mode, ranges, strings, bits and both scalings.

pymodbus's own register conversion is the reference for byte layouts, so the codec is
checked against an independent implementation, not against itself.
"""

from __future__ import annotations

import itertools
import math
import struct
from typing import Any

import pytest
from pymodbus.client.mixin import ModbusClientMixin

from reconciler.services.modbus.codec import (
    CodecError,
    Shape,
    decode,
    encode,
    flag,
    number,
    scale,
    swap_bytes,
    unscale,
)
from reconciler.spec.modbus import WIDTH, Scaling, SlaveZone

NUMERIC = ("int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64")
SWAPS = ("none", "byte", "word", "byte-word")
SAMPLES: dict[str, list[Any]] = {
    "int16": [0, 1, -1, 12345, -32768, 32767],
    "uint16": [0, 1, 40000, 65535],
    "int32": [0, -1, 123456789, -(2**31), 2**31 - 1],
    "uint32": [0, 1, 0xAABBCCDD, 2**32 - 1],
    "int64": [0, -1, 2**62 + 7, -(2**63), 2**63 - 1],
    "uint64": [0, 2**64 - 1, 0x0102030405060708],
    "float32": [0.0, 1.5, -273.25, 3.4e38, 1e-30],
    "float64": [0.0, math.pi, -1e300, 5e-324],
}


def reference(value: Any, data_type: str, swap: str) -> list[int]:
    """pymodbus's conversion, with the byte swap applied to each register by hand."""
    dt = ModbusClientMixin.DATATYPE[data_type.upper()]
    order = "little" if swap in ("word", "byte-word") else "big"
    words = ModbusClientMixin.convert_to_registers(value, dt, word_order=order)
    if swap in ("byte", "byte-word"):
        words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    return words


def shape(data_type: str, swap: str = "none", size: int | None = None, **kw: Any) -> Shape:
    return Shape(data_type, size if size is not None else WIDTH[data_type], swap, **kw)


@pytest.mark.parametrize(("data_type", "swap"), list(itertools.product(NUMERIC, SWAPS)))
def test_numbers_match_pymodbus_and_round_trip(data_type: str, swap: str) -> None:
    for value in SAMPLES[data_type]:
        s = shape(data_type, swap)
        words = encode(value, s)
        assert words == reference(value, data_type, swap), (value, words)
        back = decode(words, s)
        if data_type == "float32":
            assert back == struct.unpack(">f", struct.pack(">f", value))[0]
        else:
            assert back == value


def test_the_docs_swap_modes_on_bytes_ab_cd() -> None:
    # The gateway doc: none AB CD, byte BA DC, word (its 5) CD AB, byte-word (its 4) DC BA.
    value = 0xAABBCCDD
    assert encode(value, shape("uint32")) == [0xAABB, 0xCCDD]
    assert encode(value, shape("uint32", "byte")) == [0xBBAA, 0xDDCC]
    assert encode(value, shape("uint32", "word")) == [0xCCDD, 0xAABB]
    assert encode(value, shape("uint32", "byte-word")) == [0xDDCC, 0xBBAA]
    assert encode(0x1234, shape("uint16", "word")) == [0x1234]
    assert encode(0x1234, shape("uint16", "byte-word")) == [0x3412]


@pytest.mark.parametrize("swap", SWAPS)
def test_swap_is_its_own_inverse(swap: str) -> None:
    raw = bytes(range(1, 9))
    assert swap_bytes(swap_bytes(raw, swap), swap) == raw


@pytest.mark.parametrize(
    ("data_type", "low", "high"),
    [
        ("int16", -(2**15), 2**15 - 1),
        ("uint16", 0, 2**16 - 1),
        ("int32", -(2**31), 2**31 - 1),
        ("uint32", 0, 2**32 - 1),
        ("int64", -(2**63), 2**63 - 1),
        ("uint64", 0, 2**64 - 1),
    ],
)
def test_integer_ranges_are_enforced_not_wrapped(data_type: str, low: int, high: int) -> None:
    s = shape(data_type)
    assert decode(encode(low, s), s) == low
    assert decode(encode(high, s), s) == high
    for outside in (low - 1, high + 1):
        with pytest.raises(CodecError, match="outside the"):
            encode(outside, s)


def test_floats_round_to_the_nearest_integer() -> None:
    s = shape("int16")
    assert decode(encode(2.6, s), s) == 3
    assert decode(encode(-2.6, s), s) == -3
    with pytest.raises(CodecError):
        encode(float("nan"), s)
    with pytest.raises(CodecError, match="does not fit a float32"):
        encode(1e39, shape("float32"))


def test_several_values_in_one_zone() -> None:
    s = shape("uint16", size=3)
    assert s.count == 3
    assert encode([1, 2, 3], s) == [1, 2, 3]
    assert decode([1, 2, 3], s) == [1, 2, 3]
    f = shape("float32", "word", size=4)
    words = encode([1.0, -2.0], f)
    assert words == reference(1.0, "float32", "word") + reference(-2.0, "float32", "word")
    assert decode(words, f) == [1.0, -2.0]
    with pytest.raises(CodecError, match="needs 3 values, got 2"):
        encode([1, 2], s)
    with pytest.raises(CodecError, match="needs a list of 3 values"):
        encode(7, s)


def test_strings_pack_two_characters_a_register_nul_padded() -> None:
    s = shape("string", size=3)
    assert encode("abc", s) == [0x6162, 0x6300, 0x0000]
    assert decode([0x6162, 0x6300, 0x0000], s) == "abc"
    assert encode("abcdefgh", s) == [0x6162, 0x6364, 0x6566]  # cut to the zone
    assert encode("abc", shape("string", "byte", size=2)) == [0x6261, 0x0063]
    assert decode([0x6261, 0x0063], shape("string", "byte", size=2)) == "abc"
    assert decode(encode("héllo", s), s) == "héllo"
    assert decode(encode("aaaaaé", s), s) == "aaaaa"  # never half a character
    assert decode(encode(42, s), s) == "42"
    with pytest.raises(CodecError):
        encode(None, s)


def test_bits_from_bools_numbers_and_states() -> None:
    one = Shape("bool", 1)
    for on in (True, 1, 2.5, "on", "ON", "high", "true", "running"):
        assert encode(on, one) == [True]
    for off in (False, 0, "off", "low", "false", "stopped"):
        assert encode(off, one) == [False]
    many = Shape("bool", 4)
    assert encode([1, 0, "on", "low"], many) == [True, False, True, False]
    assert decode([True, False, True, False], many) == [True, False, True, False]
    assert decode([1], one) is True
    with pytest.raises(CodecError, match="not a number or an on/off state"):
        encode("maybe", one)


def test_tag_values_as_numbers() -> None:
    assert number(True) == 1 and number("high") == 1 and number("off") == 0
    assert number(3.5) == 3.5
    assert flag("on") and not flag(0)
    for bad in (None, "52.3", {}, []):
        with pytest.raises(CodecError):
            number(bad)


def test_decode_checks_its_input() -> None:
    with pytest.raises(CodecError, match="expected 2 registers"):
        decode([1], shape("uint32"))
    with pytest.raises(CodecError, match=r"0\.\.65535"):
        decode([70000], shape("uint16"))


def scaling(data: dict[str, Any]) -> Scaling:
    return Scaling.model_validate(data)


def test_intercept_scaling_and_its_inverse() -> None:
    s = scaling({"intercept": {"slope": 10, "offset": -5}})
    assert scale(52.5, s) == 520.0
    assert unscale(520, s) == 52.5
    assert scale([1, 2], s) == [5.0, 15.0]
    assert unscale([5, 15], s) == [1.0, 2.0]
    assert scale("on", s) == 5.0
    with pytest.raises(CodecError, match="zero slope"):
        unscale(1, scaling({"intercept": {"slope": 0}}))


def test_point_scaling_and_its_inverse() -> None:
    # A 4..20 mA transmitter's raw counts 4000..20000 as 0..100 %.
    s = scaling(
        {"point": {"sourceMin": 4000, "sourceMax": 20000, "targetMin": 0, "targetMax": 100}}
    )
    assert scale(4000, s) == 0.0
    assert scale(12000, s) == 50.0
    assert scale(20000, s) == 100.0
    assert unscale(25, s) == 8000.0
    flat = scaling({"point": {"sourceMin": 0, "sourceMax": 1, "targetMin": 5, "targetMax": 5}})
    assert scale(0.3, flat) == 5.0
    with pytest.raises(CodecError, match="cannot be inverted"):
        unscale(5, flat)


def test_no_scaling_keeps_the_value_exact() -> None:
    assert scale(2**63 - 1, None) == 2**63 - 1
    assert unscale("x", None) == "x"


def test_scaled_values_through_a_zone_shape() -> None:
    zone = SlaveZone.model_validate(
        {
            "name": "t",
            "table": "input",
            "address": 10,
            "dataType": "int16",
            "tag": "hwmon.temperatures.CPU",
            "scaling": {"intercept": {"slope": 10}},
        }
    )
    s = Shape.of(zone)
    assert (s.data_type, s.size, s.count) == ("int16", 1, 1)
    assert encode(scale(48.26, zone.scaling), s) == [483]
    assert unscale(decode([483], s), zone.scaling) == 48.3
    default = Shape.of(
        SlaveZone.model_validate(
            {"name": "c", "table": "coils", "address": 0, "tag": "gpio.0.level"}
        )
    )
    assert (default.data_type, default.size) == ("bool", 1)
