"""serial area: line settings through termios and RS-485 through TIOCGRS485/TIOCSRS485
where the UART driver supports it. Port N is /dev/ttyS(N-1) unless the `serialPorts`
option maps it (e.g. {"1": "/dev/ttyUSB0"}).

Reading termios needs the port open; it is opened non-blocking without becoming the
controlling terminal, and only read. Settings stay with the port until reboot; the agent
re-applies them when it finds drift.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import termios
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from reconciler.drivers.linux.context import Context, desired_after
from reconciler.drivers.linux.facts import serialline, sysfs
from reconciler.drivers.linux.host import Unavailable
from reconciler.engine.change import Change
from reconciler.engine.ports import SecretLookup
from reconciler.errors import DeviceError

TIOCGRS485 = 0x542E
TIOCSRS485 = 0x542F
RS485_STRUCT = "8I"  # flags, delay before, delay after, 5 reserved (struct serial_rs485)


class SerialDriver:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.host = ctx.host

    def detected(self) -> list[str]:
        tree: dict[str, str] = {}
        for name in self.host.listdir("/sys/class/tty"):
            if name.startswith("ttyS"):
                uart = self.host.read(f"/sys/class/tty/{name}/type")
                tree[f"{name}/type"] = (uart or "0").strip()
            else:
                tree[f"{name}/dev"] = ""
        return [p["name"] for p in sysfs.serial_ports(tree)]

    def ports(self) -> dict[str, str]:
        """Spec port id -> device path (host path, before the root prefix)."""
        if self.ctx.options.serial_ports:
            return {str(k): v for k, v in self.ctx.options.serial_ports.items()}
        return {str(i + 1): f"/dev/{name}" for i, name in enumerate(self.detected())}

    @contextmanager
    def opened(self, device: str, write: bool = False) -> Iterator[int]:
        flags = (os.O_RDWR if write else os.O_RDONLY) | os.O_NOCTTY | os.O_NONBLOCK
        try:
            fd = os.open(self.host.path(device), flags)
        except OSError as exc:
            raise DeviceError(f"cannot open {device}: {exc.strerror}") from None
        try:
            yield fd
        finally:
            os.close(fd)

    @staticmethod
    def rs485(fd: int) -> int | None:
        """The RS-485 flags, or None when the driver has no RS-485 support."""
        try:
            raw = fcntl.ioctl(fd, TIOCGRS485, bytes(struct.calcsize(RS485_STRUCT)))
        except OSError:
            return None
        return int(struct.unpack(RS485_STRUCT, raw)[0])

    def read_port(self, device: str) -> dict[str, Any]:
        with self.opened(device) as fd:
            return serialline.settings(list(termios.tcgetattr(fd)[:6]), self.rs485(fd))

    def observe(self) -> dict[str, Any]:
        ports = {}
        for pid, device in self.ports().items():
            try:
                ports[pid] = self.read_port(device)
            except (DeviceError, termios.error):
                continue
        if not ports:
            raise Unavailable("no usable serial ports (/sys/class/tty, serialPorts option)")
        return {"ports": ports}

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        current = self.observe()
        want = desired_after("serial", current, changes)
        devices = self.ports()
        for pid, port in (want.get("ports") or {}).items():
            if pid not in current["ports"]:
                raise DeviceError(f"this host has no serial port {pid}")
            if port.get("mode") == "rs422":
                raise DeviceError(
                    f"port {pid}: RS-422 is chosen by the transceiver hardware; Linux cannot "
                    "switch to it"
                )
            if port.get("baudRate") is not None and int(port["baudRate"]) not in serialline.SPEED:
                raise DeviceError(f"port {pid}: baud rate {port['baudRate']} is not supported")
        for pid, port in (want.get("ports") or {}).items():
            if port != current["ports"][pid]:
                self.write_port(pid, devices[pid], port, current["ports"][pid])

    def write_port(self, pid: str, device: str, port: dict[str, Any], old: dict[str, Any]) -> None:
        with self.opened(device, write=True) as fd:
            attrs = termios.tcgetattr(fd)
            termios.tcsetattr(fd, termios.TCSANOW, serialline.attributes(attrs, port))
            if port.get("mode", old["mode"]) == old["mode"]:
                return
            flags = self.rs485(fd)
            if flags is None:
                raise DeviceError(f"port {pid} ({device}): the driver has no RS-485 support")
            new = serialline.rs485_flags(port["mode"], flags)
            try:
                fcntl.ioctl(fd, TIOCSRS485, struct.pack(RS485_STRUCT, new, 0, 0, 0, 0, 0, 0, 0))
            except OSError as exc:
                reason = (
                    "unsupported" if exc.errno in (errno.ENOTTY, errno.EINVAL) else exc.strerror
                )
                raise DeviceError(f"port {pid} ({device}): RS-485 {reason}") from None
