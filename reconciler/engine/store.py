"""History, journal and prune inventory in SQLite (WAL), plus the state-dir apply lock.

The whole plan is journaled in one transaction before the first change runs and each
area's result is committed as the area finishes, so a crash at any point leaves every
planned change in history with a true status; the next run re-observes, marks what reached
the device `applied` and converges (level-based). History is bounded (Retention) and the
file is checkpointed and vacuumed now and then. Only redacted values are ever written here.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.engine.change import Change, Item, Plan, dotted_path
from reconciler.engine.failpoint import failpoint
from reconciler.engine.journal import Retention, reached_device

SCHEMA = """
CREATE TABLE IF NOT EXISTS applies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device TEXT NOT NULL,
    backend TEXT NOT NULL,
    source TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL,
    summary TEXT NOT NULL,
    plan TEXT NOT NULL,
    document TEXT NOT NULL,
    observed_hash TEXT,
    error TEXT,
    pid INTEGER
);
CREATE TABLE IF NOT EXISTS changes (
    apply_id INTEGER NOT NULL REFERENCES applies(id),
    seq INTEGER NOT NULL,
    area TEXT NOT NULL,
    path TEXT NOT NULL,
    op TEXT NOT NULL,
    risk TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    PRIMARY KEY (apply_id, seq)
);
CREATE TABLE IF NOT EXISTS reverts (
    apply_id INTEGER NOT NULL REFERENCES applies(id),
    area TEXT NOT NULL,
    by TEXT NOT NULL,
    reason TEXT NOT NULL,
    unreachable TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS verified (
    apply_id INTEGER PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS inventory (
    device TEXT NOT NULL,
    collection TEXT NOT NULL,
    name TEXT NOT NULL,
    apply_id INTEGER,
    created_at REAL NOT NULL,
    PRIMARY KEY (device, collection, name)
);
"""


class LazyInventory(Collection[tuple[str, str]]):
    """The prune inventory, read on first use: a plan that prunes nothing never reads it."""

    def __init__(self, read: Callable[[], Collection[tuple[str, str]]]) -> None:
        self._read = read
        self._items: Collection[tuple[str, str]] | None = None

    def _loaded(self) -> Collection[tuple[str, str]]:
        if self._items is None:
            self._items = self._read()
        return self._items

    def __contains__(self, item: object) -> bool:
        return item in self._loaded()

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())


class LockedError(RuntimeError):
    """Another process holds the state directory."""


@dataclass(frozen=True)
class ApplyRecord:
    id: int
    device: str
    backend: str
    source: str
    started_at: float
    finished_at: float | None
    status: str
    summary: dict[str, int]
    error: str | None
    observed_hash: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "device": self.device,
            "backend": self.backend,
            "source": self.source,
            "startedAt": _iso(self.started_at),
            "finishedAt": _iso(self.finished_at) if self.finished_at else None,
            "status": self.status,
            "summary": self.summary,
            "error": self.error,
            "observedHash": self.observed_hash,
        }


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Store:
    """One SQLite database per state directory."""

    _inventory: tuple[tuple[str, int, int], frozenset[tuple[str, str]]] | None = None
    """The last inventory read, keyed by (device, data_version, this store's writes)."""
    _inventory_writes = 0

    def __init__(self, state_dir: Path, retention: Retention | None = None) -> None:
        self.state_dir = state_dir
        self.retention = retention if retention is not None else Retention.from_env()
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / "history.db"
        path.touch(mode=0o600, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=10, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        self._mark_interrupted()

    def close(self) -> None:
        self.db.close()

    def _mark_interrupted(self) -> None:
        """Applies left 'running' by a process that is gone were interrupted (crash, kill)."""
        rows = self.db.execute("SELECT id, pid FROM applies WHERE status = 'running'").fetchall()
        for apply_id, pid in rows:
            if _alive(pid) and pid != os.getpid():
                continue
            with self.transaction():  # the apply and its changes say so together
                self.db.execute(
                    "UPDATE applies SET status='interrupted', error=? WHERE id=?",
                    ("the process ended before the apply finished", apply_id),
                )
                self.db.execute(
                    "UPDATE changes SET status='interrupted' WHERE apply_id=? "
                    "AND status IN ('pending', 'applying')",
                    (apply_id,),
                )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One commit for everything inside (the connection autocommits otherwise)."""
        if self.db.in_transaction:
            yield
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- lock ----------------------------------------------------------------------

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive, non-blocking: a second concurrent apply fails at once, clearly."""
        path = self.state_dir / "apply.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                raise LockedError(
                    f"another apply is running on {self.state_dir} (pid {holder}); "
                    "wait for it to finish"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            os.close(fd)

    # -- journal -------------------------------------------------------------------

    def begin(self, plan: Plan, source: str, document: Mapping[str, Any] | str) -> int:
        """The apply and every planned change, in one transaction. `document` may come
        as JSON text already (a large spec serialises faster straight from its model)."""
        with self.transaction():
            return self._begin(plan, source, document)

    def _begin(self, plan: Plan, source: str, document: Mapping[str, Any] | str) -> int:
        cur = self.db.execute(
            "INSERT INTO applies (device, backend, source, started_at, status, summary, plan,"
            " document, pid) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)",
            (
                plan.device,
                plan.backend,
                source,
                time.time(),
                json.dumps(plan.summary),
                json.dumps(plan.as_dict()),
                document if isinstance(document, str) else json.dumps(document),
                os.getpid(),
            ),
        )
        apply_id = int(cur.lastrowid or 0)
        failpoint("in-begin")  # a kill here must leave no apply without its changes
        self.db.executemany(
            "INSERT INTO changes (apply_id, seq, area, path, op, risk, status)"
            " VALUES (?, ?, ?, ?, ?, ?, 'pending')",
            [(apply_id, i, c.area, c.dotted, c.op, c.risk) for i, c in enumerate(plan.changes)],
        )
        return apply_id

    def record_event(self, device: str, backend: str, source: str, status: str, error: str) -> int:
        """A pass that applied nothing but must be in history (rejected or invalid commit)."""
        now = time.time()
        cur = self.db.execute(
            "INSERT INTO applies (device, backend, source, started_at, finished_at, status,"
            " summary, plan, document, error, pid) VALUES (?, ?, ?, ?, ?, ?, ?, '{}', '{}', ?, ?)",
            (device, backend, source, now, now, status, json.dumps({}), error, os.getpid()),
        )
        apply_id = int(cur.lastrowid or 0)
        self.prune(apply_id)
        return apply_id

    def mark(self, apply_id: int, seqs: list[int], status: str, error: str | None = None) -> None:
        self.db.executemany(
            "UPDATE changes SET status=?, error=? WHERE apply_id=? AND seq=?",
            [(status, error, apply_id, s) for s in seqs],
        )

    def finish(
        self, apply_id: int, status: str, observed_hash: str | None, error: str | None = None
    ) -> None:
        """The apply's outcome and the retention's pruning, in one commit."""
        with self.transaction():
            self.db.execute(
                "UPDATE applies SET status=?, finished_at=?, observed_hash=?, error=? WHERE id=?",
                (status, time.time(), observed_hash, error, apply_id),
            )
            doomed = self._forget_old()
        self._compact_now_and_then(apply_id, doomed)

    # -- reverts -------------------------------------------------------------------

    def record_revert(
        self, apply_id: int, area: str, by: str, reason: str, unreachable: list[str]
    ) -> None:
        """Safe apply restored `area`: the apply and its changes there say so, with why."""
        error = f"{area} reverted by the {by}: {reason}"
        with self.transaction():
            self.db.execute(
                "INSERT INTO reverts VALUES (?, ?, ?, ?, ?, ?)",
                (apply_id, area, by, reason, json.dumps(unreachable), time.time()),
            )
            self.db.execute(
                "UPDATE changes SET status='reverted', error=? WHERE apply_id=? AND area=?",
                (error, apply_id, area),
            )
            self.db.execute(
                "UPDATE applies SET status='reverted', error=?,"
                " finished_at=COALESCE(finished_at, ?) WHERE id=?",
                (error, time.time(), apply_id),
            )

    def reverts_of(self, apply_id: int) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT area, by, reason, unreachable, at FROM reverts WHERE apply_id=? ORDER BY rowid",
            (apply_id,),
        ).fetchall()
        return [
            {"area": a, "by": b, "reason": r, "unreachable": json.loads(u), "at": _iso(t)}
            for a, b, r, u, t in rows
        ]

    # -- verifying interrupted applies ---------------------------------------------

    def verify_interrupted(self, device: str, observed: dict[str, Any]) -> None:
        """Interrupted changes the device now reports were applied before the crash: say
        so (once per apply, on the next run that observes the device). A read-only view
        of the history cannot record it and skips."""
        try:
            rows = self.db.execute(
                "SELECT id, plan FROM applies WHERE device=? AND status='interrupted'"
                " AND id NOT IN (SELECT apply_id FROM verified)",
                (device,),
            ).fetchall()
            for apply_id, plan in rows:
                changes = json.loads(plan).get("changes", [])
                seqs = [
                    seq
                    for seq in self._interrupted(apply_id)
                    if seq < len(changes) and reached_device(changes[seq], observed)
                ]
                with self.transaction():
                    self.mark(apply_id, seqs, "applied")
                    self.db.execute("INSERT OR IGNORE INTO verified VALUES (?)", (apply_id,))
        except sqlite3.OperationalError:
            return

    def _interrupted(self, apply_id: int) -> list[int]:
        rows = self.db.execute(
            "SELECT seq FROM changes WHERE apply_id=? AND status='interrupted'", (apply_id,)
        ).fetchall()
        return [int(r[0]) for r in rows]

    # -- retention -----------------------------------------------------------------

    def prune(self, apply_id: int) -> None:
        """Forget applies beyond the retention (never the newest applied one: rollback and
        `last good` need it); checkpoint and vacuum the file every so often."""
        with self.transaction():
            doomed = self._forget_old()
        self._compact_now_and_then(apply_id, doomed)

    def _forget_old(self) -> list[int]:
        keep = self.retention
        oldest = time.time() - keep.max_age_days * 86400
        doomed = [
            int(r[0])
            for r in self.db.execute(
                "SELECT id FROM applies WHERE status != 'running' AND id NOT IN"
                " (SELECT id FROM applies ORDER BY id DESC LIMIT ?)"
                " AND id != COALESCE((SELECT MAX(id) FROM applies WHERE status='applied'), 0)"
                " UNION SELECT id FROM applies WHERE started_at < ? AND status != 'running'"
                " AND id != COALESCE((SELECT MAX(id) FROM applies WHERE status='applied'), 0)",
                (keep.max_applies, oldest),
            )
        ]
        for table in ("changes", "reverts", "verified"):
            self.db.executemany(f"DELETE FROM {table} WHERE apply_id=?", [(i,) for i in doomed])
        self.db.executemany("DELETE FROM applies WHERE id=?", [(i,) for i in doomed])
        return doomed

    def _compact_now_and_then(self, apply_id: int, doomed: list[int]) -> None:
        # VACUUM cannot run inside a (caller's) transaction: skipped then, done at a later turn
        if doomed and apply_id % self.retention.vacuum_every == 0 and not self.db.in_transaction:
            self.compact()

    def compact(self) -> None:
        """Give the space of pruned applies back to the file system."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.execute("VACUUM")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- inventory -----------------------------------------------------------------

    def inventory(self, device: str) -> set[tuple[str, str]]:
        """(collection, name) of every item the reconciler created on `device`. Kept in
        memory between calls until this store or another process writes the database
        (SQLite's data_version), so re-planning a large device does not re-read it."""
        version = self.db.execute("PRAGMA data_version").fetchone()[0]
        key = (device, version, self._inventory_writes)
        if self._inventory is None or self._inventory[0] != key:
            rows = self.db.execute(
                "SELECT collection, name FROM inventory WHERE device=?", (device,)
            ).fetchall()
            self._inventory = (key, frozenset(rows))  # TEXT columns: (str, str) rows
        return set(self._inventory[1])

    def record_inventory(self, device: str, apply_id: int, changes: Iterable[Change]) -> None:
        """Named items the reconciler added are its to prune; removed ones are forgotten."""
        now = time.time()
        added: list[tuple[str, str, str, int, float]] = []
        removed: list[tuple[str, str, str]] = []
        for change in changes:
            last = change.path[-1]
            if len(change.path) < 2 or not isinstance(last, Item):
                continue
            if change.op == "add":
                added.append((device, dotted_path(change.path[:-1]), last.name, apply_id, now))
            elif change.op == "remove":
                removed.append((device, dotted_path(change.path[:-1]), last.name))
        self._inventory_writes += 1
        self.db.executemany("INSERT OR IGNORE INTO inventory VALUES (?, ?, ?, ?, ?)", added)
        self.db.executemany(
            "DELETE FROM inventory WHERE device=? AND collection=? AND name=?", removed
        )

    # -- reading -------------------------------------------------------------------

    def history(self, limit: int = 50) -> list[ApplyRecord]:
        rows = self.db.execute(
            "SELECT id, device, backend, source, started_at, finished_at, status, summary,"
            " error, observed_hash FROM applies ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            ApplyRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), r[8], r[9])
            for r in rows
        ]

    def changes_of(self, apply_id: int) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT seq, area, path, op, risk, status, error FROM changes WHERE apply_id=?"
            " ORDER BY seq",
            (apply_id,),
        ).fetchall()
        keys = ("seq", "area", "path", "op", "risk", "status", "error")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def plan_of(self, apply_id: int) -> dict[str, Any] | None:
        row = self.db.execute("SELECT plan FROM applies WHERE id=?", (apply_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def document_of(self, apply_id: int) -> dict[str, Any] | None:
        """The whole spec document applied then (secret references, never values)."""
        row = self.db.execute("SELECT document FROM applies WHERE id=?", (apply_id,)).fetchone()
        return json.loads(row[0]) if row else None
