"""The linux operations driver with a fake runner: argv, timeout, no shell, the record
kept in the state dir, the update lock under the root. Nothing here reboots the machine."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest

from reconciler.drivers.linux.context import Context, LinuxOptions
from reconciler.drivers.linux.host import Host
from reconciler.drivers.linux.operations import LOCK_FILE, RECORD, OperationsDriver
from reconciler.drivers.linux.runner import Completed, FakeRunner, SubprocessRunner
from reconciler.engine.change import Change, Item
from reconciler.errors import DeviceDeferred, DeviceFailed


def add(**op: object) -> Change:
    return Change(path=("operations", Item(str(op["name"]))), op="add", before=None, after=op)


def answer(argv: tuple[str, ...], stdin: str | None) -> Completed | str:
    if argv[0] == "false-tool":
        return Completed(argv, 3, "", "it broke\n")
    return ""


@pytest.fixture
def fake(tmp_path: Path) -> tuple[OperationsDriver, FakeRunner]:
    runner = FakeRunner(answer)
    host = Host(tmp_path / "root", runner)
    return OperationsDriver(Context(host, LinuxOptions(guard=False), tmp_path / "state")), runner


def no_secrets(name: str) -> str:
    raise LookupError(name)


def test_actions_go_through_the_runner_once(fake: tuple[OperationsDriver, FakeRunner]) -> None:
    driver, runner = fake
    changes = [
        add(name="r", action="reboot", window=True),
        add(name="s", action="shutdown", window=True),
        add(name="c", action="restartService", service="collector", window=False),
        add(name="x", action="command", command=["echo", "$HOME;", "rm -rf /"], timeoutSeconds=7),
    ]
    driver.apply(changes, no_secrets)
    assert runner.commands() == [
        "systemctl reboot",
        "systemctl poweroff",
        "systemctl restart collector.service",
        "echo $HOME; rm -rf /",
    ]
    # the command's argv is passed as a list (no shell), with its own timeout
    assert runner.calls[3][0] == ("echo", "$HOME;", "rm -rf /")
    assert runner.timeouts[3] == 7.0
    record = driver.observe()
    assert [(r["name"], r["action"], r["result"]) for r in record] == [
        ("r", "reboot", "ok"),
        ("s", "shutdown", "ok"),
        ("c", "restartService", "ok"),
        ("x", "command", "ok"),
    ]
    assert record[3]["detail"] == "exit code 0"
    assert json.loads((driver.ctx.state_dir / RECORD).read_text()) == record
    driver.apply(changes, no_secrets)  # already recorded: nothing runs again
    assert len(runner.calls) == 4


def test_a_failing_command_is_recorded_with_its_exit_code(
    fake: tuple[OperationsDriver, FakeRunner],
) -> None:
    driver, _ = fake
    with pytest.raises(DeviceFailed, match=r"operations\[bad\]: exit code 3: it broke"):
        driver.apply([add(name="bad", action="command", command=["false-tool"],
                          timeoutSeconds=5)], no_secrets)  # fmt: skip
    assert driver.observe()[0]["result"] == "failed"
    assert driver.observe()[0]["detail"] == "exit code 3: it broke"


def test_a_held_update_lock_defers_reboot_but_not_blink_or_command(
    fake: tuple[OperationsDriver, FakeRunner],
) -> None:
    driver, runner = fake
    lock = driver.host.path(LOCK_FILE)
    lock.parent.mkdir(parents=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(DeviceDeferred, match=f"update lock {lock} held by .*pid {os.getpid()}"):
            driver.apply(
                [
                    add(name="r", action="reboot", window=True),
                    add(name="x", action="command", command=["true"], timeoutSeconds=5),
                ],
                no_secrets,
            )
    finally:
        os.close(fd)
    assert runner.commands() == ["true"]
    assert [r["name"] for r in driver.observe()] == ["x"]
    driver.apply([add(name="r", action="reboot", window=True)], no_secrets)
    assert runner.commands() == ["true", "systemctl reboot"]


def test_command_runs_without_a_shell_and_times_out(tmp_path: Path) -> None:
    """The real runner: shell syntax stays literal; a command past its timeout fails."""
    host = Host(tmp_path / "root", SubprocessRunner())
    driver = OperationsDriver(Context(host, LinuxOptions(guard=False), tmp_path / "state"))
    marker = tmp_path / "made-by-a-shell"
    driver.apply(
        [add(name="lit", action="command", command=["echo", f"; touch {marker}"],
             timeoutSeconds=5)],
        no_secrets,
    )  # fmt: skip
    assert not marker.exists()
    with pytest.raises(DeviceFailed, match="did not finish within 1 s"):
        driver.apply(
            [add(name="slow", action="command", command=["sleep", "5"], timeoutSeconds=1)],
            no_secrets,
        )
    assert [(r["name"], r["result"]) for r in driver.observe()] == [
        ("lit", "ok"),
        ("slow", "failed"),
    ]


def test_blink_goes_through_the_led_driver(tmp_path: Path) -> None:
    from linux_fakehost import FakeMachine

    machine = FakeMachine(tmp_path / "root")
    ctx = Context(Host(machine.root, machine.runner()), LinuxOptions(guard=False), tmp_path / "s")
    leds = sorted(os.listdir(machine.path("/sys/class/leds")))
    before = machine.read(f"/sys/class/leds/{leds[0]}/brightness")
    OperationsDriver(ctx).apply([add(name="b", action="blink", window=False)], no_secrets)
    assert machine.read(f"/sys/class/leds/{leds[0]}/brightness") == before
    assert OperationsDriver(ctx).observe()[0]["result"] == "ok"
