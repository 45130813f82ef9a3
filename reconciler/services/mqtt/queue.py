"""Store and forward: the messages the uplink has made and the broker has not yet taken, in
SQLite in the state directory.

Every message passes through here, connected or not, so there is one order (the row id,
which is also the message's `seq`), a crash or restart loses nothing that was queued, and
delivery is at least once: a row is deleted only once the broker acknowledged it (QoS 1/2)
or it was written to the socket (QoS 0). Bounded by total payload size and by age (like the
gateway doc's desiredDiskCacheSizeMB / timeToLiveSec); when full, the drop policy deletes the
oldest rows or refuses the newest message. Commits are synchronous (WAL, synchronous=FULL):
a message that was queued survives a power cut.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    created REAL NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_created ON outbox (created);
"""


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_age_s: float
    drop_newest: bool
    """When full: refuse the new message (newest) instead of deleting the oldest ones."""


@dataclass(frozen=True)
class Row:
    id: int
    topic: str
    payload: bytes
    qos: int
    retain: bool


class Outbox:
    """Thread-safe: the agent's thread queues, the sender reads and deletes."""

    def __init__(self, path: Path, limits: Limits) -> None:
        self.path = path
        self.limits = limits
        self.dropped = 0
        """Messages dropped by the bounds since this process opened the queue."""
        self._lock = threading.Lock()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            log.error("store-and-forward queue %s is unreadable (%s); kept as %s", path, exc, aside)
            for suffix in ("-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            path.rename(aside)
            self._db = self._open()
        row = self._db.execute("SELECT coalesce(max(id), 0), total(size) FROM outbox").fetchone()
        (used,) = self._db.execute(
            "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'outbox'"
        ).fetchone()
        self._next_id: int = max(row[0], used) + 1
        self._bytes = int(row[1])

    def _open(self) -> sqlite3.Connection:
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(SCHEMA)
            db.execute("SELECT count(*) FROM outbox").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def put(self, topic: str, qos: int, retain: bool, make: Callable[[int], bytes]) -> int | None:
        """Queue the payload `make(seq)`; its seq, or None if the bounds dropped it."""
        with self._lock:
            now = time.time()
            self._expire(now)
            seq = self._next_id
            payload = make(seq)
            size = len(payload)
            over = self._bytes + size - self.limits.max_bytes
            if size > self.limits.max_bytes or (over > 0 and self.limits.drop_newest):
                self._drop(1, "newest")
                return None
            if over > 0:
                self._evict(over)
            self._db.execute(
                "INSERT INTO outbox (id, topic, payload, qos, retain, created, size)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (seq, topic, payload, qos, int(retain), now, size),
            )
            self._next_id += 1
            self._bytes += size
            return seq

    def pending(self, after: int, limit: int) -> list[Row]:
        """Up to `limit` messages after id `after`, oldest first (expired ones are dropped)."""
        with self._lock:
            self._expire(time.time())
            rows = self._db.execute(
                "SELECT id, topic, payload, qos, retain FROM outbox"
                " WHERE id > ? ORDER BY id LIMIT ?",
                (after, limit),
            ).fetchall()
        return [Row(r[0], r[1], bytes(r[2]), r[3], bool(r[4])) for r in rows]

    def remove(self, ids: Iterable[int]) -> None:
        """Delivered: forget them."""
        ids = list(ids)
        with self._lock:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                freed = self._db.execute(
                    f"DELETE FROM outbox WHERE id IN ({marks}) RETURNING size", chunk
                ).fetchall()
                self._bytes -= sum(r[0] for r in freed)

    def last_id(self) -> int:
        with self._lock:
            return self._next_id - 1

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _expire(self, now: float) -> None:
        cutoff = now - self.limits.max_age_s
        oldest = self._db.execute("SELECT min(created) FROM outbox").fetchone()[0]
        if oldest is None or oldest >= cutoff:
            return
        freed = self._db.execute(
            "DELETE FROM outbox WHERE created < ? RETURNING size", (cutoff,)
        ).fetchall()
        self._bytes -= sum(r[0] for r in freed)
        self._drop(len(freed), "expired")

    def _evict(self, need: int) -> None:
        """Delete the oldest rows until `need` bytes are free."""
        (last,) = self._db.execute(
            "SELECT coalesce(min(id), (SELECT max(id) FROM outbox)) FROM"
            " (SELECT id, sum(size) OVER (ORDER BY id) AS freed FROM outbox) WHERE freed >= ?",
            (need,),
        ).fetchone()
        freed = self._db.execute(
            "DELETE FROM outbox WHERE id <= ? RETURNING size", (last,)
        ).fetchall()
        self._bytes -= sum(r[0] for r in freed)
        self._drop(len(freed), "oldest")

    def _drop(self, count: int, why: str) -> None:
        if not count:
            return
        if not self.dropped:
            log.warning("store-and-forward queue full or expired: dropping messages (%s)", why)
        self.dropped += count
