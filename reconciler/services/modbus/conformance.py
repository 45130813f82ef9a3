"""Where pymodbus's server departs from the Modbus application protocol (V1.1b3), put right
for the slave, and its frame dumps kept out of the agent's log.

- FC5 (write single coil): only 0xFF00 (ON) and 0x0000 (OFF) are values; anything else is
  exception 03 (pymodbus takes any non-zero value as ON).
- A request pymodbus cannot decode (a function it does not know, a short frame) is
  answered with function byte 0x80 | function, code 01 or 03 (pymodbus sends 0x80).
- pymodbus appends the last 20 raw frames (`>>>>> send: ...`) to each error it logs;
  they stay out unless its logger is at debug (`--log-level debug`).
"""

from __future__ import annotations

import logging
import struct
from typing import TYPE_CHECKING, Any

from pymodbus.constants import ExcCodes
from pymodbus.pdu import DecodePDU, ExceptionResponse, ModbusPDU
from pymodbus.pdu.bit_message import WriteSingleCoilRequest

if TYPE_CHECKING:
    from pymodbus.datastore import ModbusServerContext

COIL_ON, COIL_OFF = 0xFF00, 0x0000
PYMODBUS_LOGGER = "pymodbus.logging"
FRAME_DUMP = "\n>>>>> "


class StrictWriteCoilRequest(WriteSingleCoilRequest):
    """FC5 that refuses values other than ON and OFF."""

    value = COIL_OFF

    def decode(self, data: bytes) -> None:
        super().decode(data)
        self.value = struct.unpack(">H", data[2:4])[0]

    async def datastore_update(self, context: ModbusServerContext, device_id: int) -> ModbusPDU:
        if self.value not in (COIL_ON, COIL_OFF):
            return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_VALUE)
        return await super().datastore_update(context, device_id)


class RefusedRequest(ModbusPDU):
    """A request that could not be decoded: answered with its own function code."""

    def __init__(self, function_code: int, exception_code: int) -> None:
        super().__init__()
        self.function_code = function_code
        self.exception_code = exception_code

    async def datastore_update(self, context: ModbusServerContext, device_id: int) -> ModbusPDU:
        return ExceptionResponse(self.function_code, self.exception_code)


class SlaveDecoder(DecodePDU):
    """The server's request decoder with the fixes above."""

    def __init__(self) -> None:
        super().__init__(True)
        self.register(StrictWriteCoilRequest)

    def decode(self, frame: bytes) -> ModbusPDU | None:
        pdu = super().decode(frame)
        if pdu is not None or not frame or frame[0] >= 0x80:
            return pdu
        known = self.pdu_table.get(frame[0], (None, None))[self.pdu_inx] is not None
        code = ExcCodes.ILLEGAL_VALUE if known else ExcCodes.ILLEGAL_FUNCTION
        return RefusedRequest(frame[0], code)


def conform(server: Any) -> None:
    """Give a pymodbus server (TCP or serial) the conforming decoder; call before serving."""
    server.decoder = SlaveDecoder()


class _NoFrameDumps(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        logger = logging.getLogger(PYMODBUS_LOGGER)
        if isinstance(record.msg, str) and not logger.isEnabledFor(logging.DEBUG):
            record.msg = record.msg.split(FRAME_DUMP, 1)[0]
        return True


_FILTER = _NoFrameDumps()


def quiet_frame_dumps() -> None:
    """Keep raw frames out of pymodbus's error lines unless it logs at debug (idempotent)."""
    logging.getLogger(PYMODBUS_LOGGER).addFilter(_FILTER)
