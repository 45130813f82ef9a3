"""Operator knobs of the Modbus service that are not the register map: the slave's and the
master's log levels and the slave's TCP keep-alive (gateway doc: slave/master control
logLevel, tcpSlave keepAliveTime)."""

from __future__ import annotations

import logging
import socket
from typing import Any

SLAVE_LOGGER = "reconciler.services.modbus.slave"
MASTER_LOGGER = "reconciler.services.modbus.master"
LEVELS = {
    "ALL": logging.DEBUG,
    "TRACE": logging.DEBUG,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
    "OFF": logging.CRITICAL + 1,
}
"""The doc's levels as Python's (it has no TRACE, and nothing logs above CRITICAL)."""
PROBE_INTERVAL_S = 10
PROBES = 3
"""After the idle time, a dead peer is dropped within PROBE_INTERVAL_S * PROBES."""


def set_log_level(logger: str, level: str | None) -> None:
    """The doc's level on `logger`; None leaves the agent's own level (NOTSET)."""
    logging.getLogger(logger).setLevel(LEVELS[level] if level is not None else logging.NOTSET)


def set_keep_alive(listener: Any, minutes: int | None) -> None:
    """TCP keep-alive on the listening sockets; Linux hands the options on to every
    connection accepted afterwards. None leaves the system default, 0 turns probing off."""
    for sock in getattr(listener, "sockets", None) or ():
        if minutes is None:
            continue
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1 if minutes else 0)
        if minutes:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, minutes * 60)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, PROBE_INTERVAL_S)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, PROBES)
