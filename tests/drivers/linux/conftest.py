"""Fixtures for the linux driver tests: a fake machine in a temp dir, a backend on it; a
booted systemd container (linux_container.py) for the tests that need a real systemd."""

from __future__ import annotations

import os
import pty
from collections.abc import Iterator
from pathlib import Path

import pytest
from linux_container import Container, booted, container_usable, rootfs
from linux_fakehost import FakeMachine

from reconciler.drivers.linux.backend import LinuxBackend
from reconciler.drivers.linux.context import LinuxOptions


@pytest.fixture
def machine(tmp_path: Path) -> FakeMachine:
    return FakeMachine(tmp_path / "root")


@pytest.fixture
def serial_pty(machine: FakeMachine) -> Iterator[str]:
    """A real tty (pty) linked into the fake root as /dev/ttyS0."""
    main, child = pty.openpty()
    machine.link("/dev/ttyS0", os.ttyname(child))
    yield "/dev/ttyS0"
    os.close(main)
    os.close(child)


@pytest.fixture
def backend(machine: FakeMachine, tmp_path: Path, serial_pty: str) -> LinuxBackend:
    options = LinuxOptions(serial_ports={"1": serial_pty}, guard=False)
    return LinuxBackend.open(
        tmp_path / "state", None, root=machine.root, runner=machine.runner(), options=options
    )


@pytest.fixture(scope="session")
def container_rootfs() -> Path:
    """The cached Debian root file system (built by the first session that needs it)."""
    reason = container_usable()
    if reason:
        pytest.skip(reason)
    return rootfs()


@pytest.fixture
def container(container_rootfs: Path) -> Iterator[Container]:
    """A freshly booted container of its own, powered off and removed afterwards."""
    with booted(container_rootfs) as box:
        yield box
