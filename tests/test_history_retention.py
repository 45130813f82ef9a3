"""History is bounded: the newest applies by count (RECONCILER_HISTORY_KEEP) and age
(RECONCILER_HISTORY_DAYS) stay, the newest successful apply always stays (rollback and the
status need it), and the file gives the space back (checkpointed and vacuumed)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from testkit import Result

from reconciler.engine.change import Change, Plan
from reconciler.engine.journal import Retention
from reconciler.engine.store import Store

SPEC = """apiVersion: reconciler/v1
kind: Device
metadata: {{name: gw, model: UNO-2484G}}
spec:
  system: {{hostname: gw-{n}}}
"""


def _plan(n: int) -> Plan:
    change = Change(("system", "description"), "replace", "", "x" * 2000 + str(n))
    return Plan("gw", "sim", (change,))


def _apply(store: Store, n: int, status: str = "applied") -> int:
    apply_id = store.begin(_plan(n), f"test #{n}", {"spec": {"n": n}})
    store.mark(apply_id, [0], status)
    store.finish(apply_id, status, None)
    return apply_id


def test_history_keeps_the_newest_applies_by_count(
    cli, tmp_path: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_HISTORY_KEEP", "3")
    spec = tmp_path / "gw.yaml"
    for n in range(6):
        spec.write_text(SPEC.format(n=n))
        result: Result = cli("apply", "-f", spec, "--state-dir", state_dir, "--yes")
        assert result.code == 0, result.err
    history = json.loads(cli("history", "--state-dir", state_dir, "--json").out)
    assert [h["id"] for h in history] == [6, 5, 4]
    assert cli("history", "--state-dir", state_dir, "--show", "2").code == 1  # forgotten
    assert cli("rollback", "--state-dir", state_dir, "--yes").code == 0  # to #5's spec


def test_the_newest_successful_apply_survives_failures(state_dir: Path) -> None:
    store = Store(state_dir, Retention(max_applies=2))
    good = _apply(store, 0)
    failed = [_apply(store, n, "failed") for n in range(1, 5)]
    assert [r.id for r in store.history()] == [failed[-1], failed[-2], good]
    assert store.changes_of(failed[0]) == [] and store.document_of(good) == {"spec": {"n": 0}}


def test_applies_older_than_the_age_limit_go(state_dir: Path) -> None:
    store = Store(state_dir, Retention(max_applies=100, max_age_days=1))
    old = [_apply(store, n) for n in range(3)]
    store.db.execute("UPDATE applies SET started_at=? WHERE id<=?", (time.time() - 2 * 86400, 2))
    newest = _apply(store, 3)
    assert [r.id for r in store.history()] == [newest, old[2]]


def test_pruned_space_is_given_back(state_dir: Path) -> None:
    """A tighter retention frees pages; the next vacuum hands them back to the disk."""
    store = Store(state_dir, Retention(max_applies=1000))
    for n in range(300):
        _apply(store, n)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    grown = (state_dir / "history.db").stat().st_size
    store.retention = Retention(max_applies=5, vacuum_every=1)
    _apply(store, 300)  # prunes 296 applies, then checkpoints and vacuums
    assert len(store.history()) == 5
    assert (state_dir / "history.db").stat().st_size < grown / 4
    wal = state_dir / "history.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
