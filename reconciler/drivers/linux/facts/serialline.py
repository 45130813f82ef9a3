"""Pure translation between termios attributes / RS-485 flags and the spec's serial fields."""

from __future__ import annotations

import termios
from typing import Any

CMSPAR = 0o10000000000
"""Mark/space parity (Linux; not exported by Python's termios module)."""
CRTSCTS = getattr(termios, "CRTSCTS", 0o20000000000)

SER_RS485_ENABLED = 1 << 0
SER_RS485_RTS_ON_SEND = 1 << 1
SER_RS485_RX_DURING_TX = 1 << 4

BAUD = {
    getattr(termios, f"B{rate}"): rate
    for rate in (
        50,
        75,
        110,
        134,
        150,
        200,
        300,
        600,
        1200,
        1800,
        2400,
        4800,
        9600,
        19200,
        38400,
        57600,
        115200,
        230400,
        460800,
        921600,
    )
    if hasattr(termios, f"B{rate}")
}
SPEED = {rate: const for const, rate in BAUD.items()}
SIZE = {termios.CS5: 5, termios.CS6: 6, termios.CS7: 7, termios.CS8: 8}


def settings(attrs: list[int], rs485_flags: int | None) -> dict[str, Any]:
    """[iflag, oflag, cflag, lflag, ispeed, ospeed] (+ RS-485 flags, None when the driver has
    no RS-485) -> mode, baudRate, parity, dataBits, stopBits, flowControl."""
    iflag, _oflag, cflag = attrs[0], attrs[1], attrs[2]
    ospeed = attrs[5]
    odd = bool(cflag & termios.PARODD)
    parity = "none"
    if cflag & termios.PARENB:
        parity = ("mark" if odd else "space") if cflag & CMSPAR else ("odd" if odd else "even")
    data_bits = SIZE.get(cflag & termios.CSIZE, 8)
    stop_bits: float = 1
    if cflag & termios.CSTOPB:
        stop_bits = 1.5 if data_bits == 5 else 2
    if cflag & CRTSCTS:
        flow = "rts-cts"
    elif iflag & (termios.IXON | termios.IXOFF):
        flow = "xon-xoff"
    else:
        flow = "none"
    mode = "rs232"
    if rs485_flags is not None and rs485_flags & SER_RS485_ENABLED:
        mode = "rs485-4w" if rs485_flags & SER_RS485_RX_DURING_TX else "rs485-2w"
    return {
        "mode": mode,
        "baudRate": BAUD.get(ospeed, ospeed),
        "parity": parity,
        "dataBits": data_bits,
        "stopBits": stop_bits,
        "flowControl": flow,
    }


def attributes(current: list[Any], want: dict[str, Any]) -> list[Any]:
    """`current` termios attributes changed to the line settings in `want` (raw mode kept)."""
    iflag, oflag, cflag, lflag, ispeed, ospeed, cc = current
    if "baudRate" in want:
        ispeed = ospeed = SPEED[int(want["baudRate"])]
    if "dataBits" in want:
        cflag = (cflag & ~termios.CSIZE) | {v: k for k, v in SIZE.items()}[int(want["dataBits"])]
    if "stopBits" in want:
        cflag = cflag | termios.CSTOPB if float(want["stopBits"]) > 1 else cflag & ~termios.CSTOPB
    if "parity" in want:
        cflag &= ~(termios.PARENB | termios.PARODD | CMSPAR)
        cflag |= {
            "none": 0,
            "even": termios.PARENB,
            "odd": termios.PARENB | termios.PARODD,
            "space": termios.PARENB | CMSPAR,
            "mark": termios.PARENB | CMSPAR | termios.PARODD,
        }[want["parity"]]
    if "flowControl" in want:
        cflag &= ~CRTSCTS
        iflag &= ~(termios.IXON | termios.IXOFF)
        if want["flowControl"] == "rts-cts":
            cflag |= CRTSCTS
        elif want["flowControl"] == "xon-xoff":
            iflag |= termios.IXON | termios.IXOFF
    return [iflag, oflag, cflag | termios.CLOCAL | termios.CREAD, lflag, ispeed, ospeed, cc]


def rs485_flags(mode: str, current: int) -> int:
    """RS-485 flags for `mode`: 2-wire switches RTS on send; 4-wire also receives during
    transmission; rs232 clears RS-485."""
    keep = current & ~(SER_RS485_ENABLED | SER_RS485_RX_DURING_TX | SER_RS485_RTS_ON_SEND)
    if mode == "rs485-2w":
        return keep | SER_RS485_ENABLED | SER_RS485_RTS_ON_SEND
    if mode == "rs485-4w":
        return keep | SER_RS485_ENABLED | SER_RS485_RTS_ON_SEND | SER_RS485_RX_DURING_TX
    return keep
