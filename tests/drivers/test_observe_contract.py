"""Dry-run contract for every driver of both backends: observing never writes.

The sim backend's state dir, and the linux backend's fake root and state dir, are
snapshotted (content, mode, link targets) before and after every observe; the linux
backend runs with a runner that fails on any command that is not read-only."""

from __future__ import annotations

import os
import pty
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from linux_fakehost import FakeMachine

from reconciler.areas import AREA_NAMES
from reconciler.drivers.linux.backend import LinuxBackend
from reconciler.drivers.linux.context import LinuxOptions
from reconciler.drivers.sim.backend import SimBackend
from reconciler.errors import DeviceError

EVERY_AREA = sorted(AREA_NAMES)


def tree_state(*roots: Path) -> dict[str, Any]:
    """Everything that observable writing would change below `roots`."""
    out: dict[str, Any] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                path = Path(dirpath) / name
                st = path.lstat()
                if path.is_symlink():
                    out[str(path)] = ("link", os.readlink(path))
                elif path.is_file():
                    out[str(path)] = (st.st_mode, st.st_mtime_ns, path.read_bytes())
                else:
                    out[str(path)] = (st.st_mode,)
    return out


def observe_everything(backend: Any) -> dict[str, str]:
    """Observe every area; the areas that raised DeviceError, with the message (an area
    the host lacks may fail, but still must not write)."""
    failed: dict[str, str] = {}
    for area in EVERY_AREA:
        try:
            backend.driver(area).observe()
        except DeviceError as exc:
            failed[area] = str(exc)
    backend.observe()
    backend.observe_all()
    return failed


def test_sim_observe_never_writes(tmp_path: Path) -> None:
    backend = SimBackend.open(tmp_path / "state", "UNO-2484G")
    before = tree_state(tmp_path / "state")
    assert observe_everything(backend) == {}  # the sim models every area
    assert tree_state(tmp_path / "state") == before


@pytest.fixture
def pty_path() -> Iterator[str]:
    main, child = pty.openpty()
    yield os.ttyname(child)
    os.close(main)
    os.close(child)


@pytest.mark.parametrize("full", [True, False], ids=["full-host", "bare-host"])
def test_linux_observe_never_writes(tmp_path: Path, pty_path: str, full: bool) -> None:
    machine = FakeMachine(tmp_path / "root", sysfs=full, systemd=full)
    machine.link("/dev/ttyS0", pty_path)
    state = tmp_path / "state"
    state.mkdir()
    before = tree_state(machine.root, state)
    runner = machine.runner(read_only=True)
    options = LinuxOptions(serial_ports={"1": "/dev/ttyS0"})
    backend = LinuxBackend.open(state, None, root=machine.root, runner=runner, options=options)
    failed = observe_everything(backend)
    if full:
        assert failed == {}
    else:  # exactly the hardware a bare host lacks, each said so
        assert set(failed) == {"gpio", "leds", "services", "watchdog"}, failed
        assert "no GPIO chip" in failed["gpio"] and "systemd is not running" in failed["services"]
    assert tree_state(machine.root, state) == before
    assert runner.calls, "observe ran no command at all: the contract proves nothing"
