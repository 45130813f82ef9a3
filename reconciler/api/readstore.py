"""The history database, opened read-only.

The endpoint never writes history. Opening `engine.store.Store` would (it creates the
schema and marks applies of this process as interrupted, which is wrong while an agent in
this same process is applying), so the endpoint opens the file with SQLite's read-only
mode and reuses Store's reading queries.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.engine.store import ApplyRecord, Store
from reconciler.errors import OperationError

DB_FILE = "history.db"


class ReadOnlyStore(Store):
    """Store's readers (history, changes_of, plan_of, document_of, inventory) over a
    read-only connection that any thread may use (calls are serialised by a lock)."""

    def __init__(self, state_dir: Path) -> None:  # no super(): that would write
        self.state_dir = state_dir
        uri = f"file:{(state_dir / DB_FILE).as_posix()}?mode=ro"
        self.db = sqlite3.connect(uri, uri=True, timeout=10, check_same_thread=False)
        self.read_lock = threading.Lock()


@dataclass(frozen=True)
class Totals:
    """Counters for /metrics, from the whole history."""

    applies: dict[str, int]
    changes_applied: int
    last_finished: ApplyRecord | None


EMPTY = Totals({}, 0, None)


class HistoryReader:
    """Opens the database lazily: a fresh state dir has none until the first apply."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._store: ReadOnlyStore | None = None
        self._open_lock = threading.Lock()

    def store(self) -> ReadOnlyStore | None:
        if self._store is None:
            with self._open_lock:
                if self._store is None and (self.state_dir / DB_FILE).exists():
                    try:
                        self._store = ReadOnlyStore(self.state_dir)
                    except sqlite3.Error:
                        return None
        return self._store

    def history(self, limit: int) -> list[ApplyRecord]:
        store = self.store()
        if store is None:
            return []
        with store.read_lock:
            try:
                return store.history(limit)
            except sqlite3.Error:
                return []

    def inventory(self, device: str) -> set[tuple[str, str]]:
        store = self.store()
        if store is None:
            return set()
        with store.read_lock:
            try:
                return store.inventory(device)
            except sqlite3.Error as exc:
                message = f"cannot read the history in {self.state_dir}: {exc}"
                raise OperationError(message) from None

    def document_of(self, apply_id: int) -> dict[str, Any] | None:
        store = self.store()
        if store is None:
            return None
        with store.read_lock:
            return store.document_of(apply_id)

    def totals(self) -> Totals:
        store = self.store()
        if store is None:
            return EMPTY
        with store.read_lock:
            try:
                by_status = dict(
                    store.db.execute("SELECT status, COUNT(*) FROM applies GROUP BY status")
                )
                (applied,) = store.db.execute(
                    "SELECT COUNT(*) FROM changes WHERE status='applied'"
                ).fetchone()
                row = store.db.execute(
                    "SELECT id, device, backend, source, started_at, finished_at, status,"
                    " summary, error, observed_hash FROM applies WHERE finished_at IS NOT NULL"
                    " AND status IN ('applied', 'failed') ORDER BY id DESC LIMIT 1"
                ).fetchone()
            except sqlite3.Error:
                return EMPTY
        last = None
        if row is not None:
            rid, device, backend, source, started, finished, status = row[:7]
            last = ApplyRecord(
                rid,
                device,
                backend,
                source,
                started,
                finished,
                status,
                json.loads(row[7]),
                row[8],
                row[9],
            )
        return Totals({str(k): int(v) for k, v in by_status.items()}, int(applied), last)
