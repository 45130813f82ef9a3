"""The store-and-forward queue on its own: order, seq across reopen, size and age bounds
with both drop policies, and a damaged file set aside instead of stopping the uplink."""

from __future__ import annotations

import sqlite3
import stat
import time
from pathlib import Path

import pytest

from reconciler.services.mqtt.queue import Limits, Outbox

ROOMY = Limits(max_bytes=1 << 20, max_age_s=3600, drop_newest=False)


def put(outbox: Outbox, text: str) -> int | None:
    return outbox.put("t/events", 1, False, lambda seq: f"{seq}:{text}".encode())


def payloads(outbox: Outbox) -> list[str]:
    return [row.payload.decode() for row in outbox.pending(0, 1000)]


def test_order_seq_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "mqtt" / "outbox.sqlite3"
    outbox = Outbox(path, ROOMY)
    assert [put(outbox, t) for t in "abc"] == [1, 2, 3]
    rows = outbox.pending(0, 2)
    assert [(r.id, r.topic, r.qos, r.retain) for r in rows] == [
        (1, "t/events", 1, False),
        (2, "t/events", 1, False),
    ]
    assert [r.id for r in outbox.pending(2, 10)] == [3]
    outbox.remove([1, 2])
    outbox.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700

    reopened = Outbox(path, ROOMY)
    assert payloads(reopened) == ["3:c"]
    reopened.remove([3])
    assert len(reopened) == 0
    reopened.close()
    # seq never goes back, even when the queue was emptied before the restart
    again = Outbox(path, ROOMY)
    assert put(again, "d") == 4
    again.close()


def test_drop_oldest_when_full(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "q.sqlite3", Limits(max_bytes=30, max_age_s=3600, drop_newest=False))
    for i in range(6):
        put(outbox, f"message{i}")  # 10 bytes each: three fit
    assert payloads(outbox) == ["4:message3", "5:message4", "6:message5"]
    assert outbox.dropped == 3
    assert put(outbox, "x" * 100) is None  # bigger than the whole queue: refused
    assert len(outbox) == 3


def test_drop_newest_when_full(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "q.sqlite3", Limits(max_bytes=30, max_age_s=3600, drop_newest=True))
    seqs = [put(outbox, f"message{i}") for i in range(6)]
    assert seqs[:3] == [1, 2, 3] and seqs[3:] == [None, None, None]
    assert payloads(outbox) == ["1:message0", "2:message1", "3:message2"]
    outbox.remove([1])
    assert put(outbox, "later") == 4  # room again


def test_expired_messages_are_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    limits = Limits(max_bytes=1 << 20, max_age_s=60, drop_newest=False)
    outbox = Outbox(tmp_path / "q.sqlite3", limits)
    put(outbox, "old")
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 61)
    put(outbox, "new")
    assert payloads(outbox) == ["2:new"]
    assert outbox.dropped == 1


def test_a_damaged_queue_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    outbox = Outbox(path, ROOMY)
    assert len(outbox) == 0
    assert put(outbox, "fresh") == 1
    aside = list(tmp_path.glob("q.sqlite3.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not")
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(aside[0]).execute("SELECT 1 FROM outbox")
