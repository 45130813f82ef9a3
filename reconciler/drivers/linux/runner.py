"""One way to run commands, so drivers can target this host, a network namespace or a fake."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from reconciler.errors import DeviceError, DeviceUnavailable


@dataclass(frozen=True)
class Completed:
    """What a finished command left behind."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str = ""
    stderr: str = ""


class CommandFailed(DeviceError):
    """A command exited non-zero; the message carries its stderr."""


class ToolMissing(DeviceError):
    """The command is not installed on this host."""


class Runner(Protocol):
    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: str | None = None,
        check: bool = True,
        timeout: float = 60.0,
    ) -> Completed: ...

    def which(self, tool: str) -> bool: ...


def _failed(result: Completed) -> CommandFailed:
    detail = result.stderr.strip() or result.stdout.strip() or f"exit code {result.returncode}"
    return CommandFailed(f"`{' '.join(result.argv)}` failed: {detail.splitlines()[-1]}")


class _CheckedRunner:
    """What every runner does around a command: refuse a missing tool, raise on failure."""

    def which(self, tool: str) -> bool:
        raise NotImplementedError

    def _execute(self, args: tuple[str, ...], stdin: str | None, timeout: float) -> Completed:
        raise NotImplementedError

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: str | None = None,
        check: bool = True,
        timeout: float = 60.0,
    ) -> Completed:
        args = tuple(argv)
        if not self.which(args[0]):
            raise ToolMissing(f"{args[0]} is not installed on this host")
        result = self._execute(args, stdin, timeout)
        if check and result.returncode != 0:
            raise _failed(result)
        return result


class SubprocessRunner(_CheckedRunner):
    """Runs real commands, optionally behind a prefix (`ip netns exec NS`)."""

    def __init__(self, prefix: Sequence[str] = ()) -> None:
        self.prefix = tuple(prefix)
        self._which: dict[str, bool] = {}

    @classmethod
    def in_netns(cls, namespace: str) -> SubprocessRunner:
        return cls(("ip", "netns", "exec", namespace))

    def which(self, tool: str) -> bool:
        if tool not in self._which:
            self._which[tool] = shutil.which(tool) is not None
        return self._which[tool]

    def _execute(self, args: tuple[str, ...], stdin: str | None, timeout: float) -> Completed:
        env = {**os.environ, "LC_ALL": "C", "SYSTEMD_PAGER": "", "PAGER": "cat"}
        try:
            proc = subprocess.run(
                [*self.prefix, *args],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CommandFailed(f"`{' '.join(args)}` did not finish within {timeout:g} s") from None
        return Completed(args, proc.returncode, proc.stdout, proc.stderr)


class OfflineRunner:
    """`--root DIR`: only files under DIR are managed; a command would act on the live host
    (ip, nft, systemctl, hostname ...), so every one is refused with the reason."""

    offline = True

    def __init__(self, root: Path) -> None:
        self.root = root

    def which(self, tool: str) -> bool:
        return True  # present, but refused when run: the error says why

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: str | None = None,
        check: bool = True,
        timeout: float = 60.0,
    ) -> Completed:
        raise DeviceUnavailable(
            f"`{argv[0]}` would act on the live host, not on --root {self.root}: "
            "this area needs the running system"
        )


Handler = Callable[[tuple[str, ...], str | None], Completed | str]
"""Answers one command: stdout (exit 0) or a whole Completed; raises to simulate a crash."""


@dataclass
class FakeRunner(_CheckedRunner):
    """Answers commands with `handler` and records them: tests and dry-run contracts."""

    handler: Handler
    tools: Collection[str] | None = None
    calls: list[tuple[tuple[str, ...], str | None]] = field(default_factory=list)
    timeouts: list[float] = field(default_factory=list)
    """The timeout each recorded command was given (seconds)."""

    def which(self, tool: str) -> bool:
        return self.tools is None or tool in self.tools

    def _execute(self, args: tuple[str, ...], stdin: str | None, timeout: float) -> Completed:
        self.calls.append((args, stdin))
        self.timeouts.append(timeout)
        answer = self.handler(args, stdin)
        return Completed(args, 0, answer) if isinstance(answer, str) else answer

    def commands(self) -> list[str]:
        """The recorded commands as shell-like lines (for assertions)."""
        return [" ".join(argv) for argv, _ in self.calls]
