"""A short-lived cache of device reads, so many clients do not multiply them.

Each key is loaded by at most one worker thread at a time. While a reload runs, other
requests get the previous value at once instead of queueing behind the device (a read
may take a while on real hardware); only a request that finds no value at all waits.
Each load gets a generation number, so rendered responses can be memoized per load.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Entry:
    value: Any = None
    loaded_at: float = float("-inf")
    generation: int = 0
    error: BaseException | None = None
    loading: asyncio.Future[None] | None = None


@dataclass
class Snapshot:
    """A cached value and the load it came from."""

    value: Any
    generation: int


@dataclass
class ReadCache:
    """Values by key, loaded in a worker thread, fresh for `ttl` seconds."""

    ttl: float
    clock: Callable[[], float] = time.monotonic
    _entries: dict[str, _Entry] = field(default_factory=dict)
    _rendered: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)

    async def get(self, key: str, load: Callable[[], Any]) -> Snapshot:
        """The value of `key`, loading it with `load()` (blocking) when stale."""
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
        if entry.generation and self.clock() - entry.loaded_at < self.ttl:
            return self._result(entry)
        if entry.loading is not None:
            if entry.generation:
                return self._result(entry)
            await asyncio.shield(entry.loading)
            return self._result(entry)
        loop = asyncio.get_running_loop()
        entry.loading = loop.create_future()
        try:
            from anyio import to_thread

            try:
                entry.value = await to_thread.run_sync(load, abandon_on_cancel=False)
                entry.error = None
            except Exception as exc:
                entry.error = exc
            entry.loaded_at = self.clock()
            entry.generation += 1
        finally:
            entry.loading.set_result(None)
            entry.loading = None
        return self._result(entry)

    @staticmethod
    def _result(entry: _Entry) -> Snapshot:
        if entry.error is not None:
            raise entry.error
        return Snapshot(entry.value, entry.generation)

    def rendered(self, key: str, name: str, snap: Snapshot, render: Callable[[Any], Any]) -> Any:
        """`render(snap.value)`, computed once per load of `key` (responses are pure)."""
        memo = self._rendered.get((key, name))
        if memo is not None and memo[0] == snap.generation:
            return memo[1]
        out = render(snap.value)
        self._rendered[(key, name)] = (snap.generation, out)
        return out
