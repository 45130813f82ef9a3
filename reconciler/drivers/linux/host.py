"""The machine the drivers work on: files under a root prefix, commands through a runner."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reconciler.drivers.linux.runner import Completed, Runner
from reconciler.errors import DeviceError
from reconciler.fsutil import atomic_write


class Unavailable(DeviceError):
    """The host lacks what an area needs (no watchdog, no systemd, no nft ...)."""


class Host:
    """Paths are host paths (`/etc/hostname`); `root` maps them into a fake tree in tests."""

    def __init__(self, root: Path, runner: Runner) -> None:
        self.root = Path(root)
        self.runner = runner

    @property
    def is_live_root(self) -> bool:
        """True when files are this machine's own (root `/`), not a prefix tree."""
        return self.root == Path("/")

    @property
    def offline(self) -> bool:
        """No command reaches a live system (`--root DIR`): files only."""
        return bool(getattr(self.runner, "offline", False))

    def path(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def exists(self, path: str) -> bool:
        return self.path(path).exists()

    def read(self, path: str) -> str | None:
        """The file's text, or None when it does not exist (or is unreadable)."""
        try:
            return self.path(path).read_text(errors="replace")
        except (FileNotFoundError, NotADirectoryError, PermissionError, IsADirectoryError):
            return None
        except OSError:
            return None

    def listdir(self, path: str) -> list[str]:
        try:
            return sorted(os.listdir(self.path(path)))
        except OSError:
            return []

    def readlink(self, path: str) -> str | None:
        try:
            return os.readlink(self.path(path))
        except OSError:
            return None

    def tree(self, path: str, depth: int = 1) -> dict[str, str]:
        """Small text files below `path` as {relative path: content} (sysfs attributes).

        Symlinks to directories are followed one level, like sysfs class links."""
        out: dict[str, str] = {}
        base = self.path(path)

        def walk(directory: Path, rel: str, level: int) -> None:
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError:
                return
            for entry in entries:
                name = f"{rel}{entry.name}"
                try:
                    if entry.is_dir():
                        if level < depth:
                            walk(Path(entry.path), name + "/", level + 1)
                    elif entry.is_file():
                        with open(entry.path, errors="replace") as f:
                            out[name] = f.read(4096).strip()
                except OSError:
                    continue

        walk(base, "", 0)
        return out

    def write(self, path: str, text: str, mode: int = 0o644) -> None:
        atomic_write(self.path(path), text.encode(), mode=mode)

    def remove(self, path: str) -> None:
        self.path(path).unlink(missing_ok=True)

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: str | None = None,
        check: bool = True,
        timeout: float = 60.0,
    ) -> Completed:
        return self.runner.run(argv, stdin=stdin, check=check, timeout=timeout)

    def run_json(self, argv: Sequence[str]) -> Any:
        out = self.runner.run(argv).stdout
        try:
            return json.loads(out) if out.strip() else None
        except ValueError:
            raise DeviceError(f"`{' '.join(argv)}` printed something that is not JSON") from None

    def has(self, tool: str) -> bool:
        return self.runner.which(tool)

    def systemd_running(self) -> bool:
        """systemd is PID 1 (its runtime directory exists): systemctl can act."""
        return self.exists("/run/systemd/system") and self.has("systemctl")
