"""Server-Sent Events: `event: TYPE` / `data: JSON` frames, one batch per interval.

The first batch goes out at once; later ones every `interval` seconds, read through the
same cache as the JSON routes. A stream ends when the client goes away or the server is
closing (checked often, so shutdown is not held up by open streams).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable

Batch = list[tuple[str, bytes]]
POLL = 0.2


def frame(event: str, data: bytes) -> bytes:
    """One event; JSON data never holds a raw newline, so one `data:` line suffices."""
    return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"


async def stream(
    first: Batch,
    produce: Callable[[], Awaitable[Batch]],
    interval: float,
    closing: threading.Event,
) -> AsyncIterator[bytes]:
    """`first`, then a fresh batch from `produce()` every `interval` until closing."""
    batch = first
    while True:
        yield b"".join(frame(event, data) for event, data in batch)
        deadline = time.monotonic() + interval
        while not closing.is_set() and (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(POLL, left))
        if closing.is_set():
            return
        batch = await produce()
