"""A progress bar for long commands, on a terminal only: piped or redirected output (CI,
scripts, `--format json`) stays exactly as it was, with no control characters."""

from __future__ import annotations

import os
import sys
from typing import TextIO

MIN_ITEMS = 20
"""Fewer items finish before a bar would be read: no bar."""
WIDTH = 30


class ProgressBar:
    """`update(done, total)` redraws one line on `stream` when it is a terminal; `close()`
    erases it so the command's own output starts on a clean line."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.label = label
        self.enabled = _is_terminal(self.stream)
        self.drawn = False
        self._last = -1

    def update(self, done: int, total: int) -> None:
        if not self.enabled or total < MIN_ITEMS:
            return
        filled = WIDTH * done // total
        if filled == self._last and done != total:
            return
        self._last = filled
        bar = "#" * filled + "." * (WIDTH - filled)
        self.stream.write(f"\r[{bar}] {done}/{total} {self.label}")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.drawn = False


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except ValueError:  # closed stream
        return False
