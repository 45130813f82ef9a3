"""Password checks: crypt runs only when the secret or the device's hash changed since the
reconciler last verified the pair; the memo keeps neither the secret nor its hash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.drivers.sim.backend import SimBackend
from reconciler.engine import planner
from reconciler.engine.applier import apply_plan
from reconciler.engine.credentials import hash_password
from reconciler.engine.planner import make_plan, plan_changes
from reconciler.engine.store import Store
from reconciler.engine.verified import KEY_FILE, RECORDS_FILE, VerifiedPasswords


@pytest.fixture
def crypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = planner.verify_password

    def counting(value: str, hashed: Any) -> bool:
        calls.append(hashed)
        return real(value, hashed)

    monkeypatch.setattr(planner, "verify_password", counting)
    return calls


def _plan(state: Path, secret: str, hashed: str) -> list[Any]:
    desired = {"access": {"users": [{"name": "op", "password": {"secretRef": "pw"}}]}}
    observed = {"access": {"users": [{"name": "op", "passwordHash": hashed}]}}
    memo = VerifiedPasswords(state)
    found = plan_changes(desired, observed, secrets=lambda _n: secret, passwords=memo)
    memo.save()
    return found


def test_a_verified_pair_skips_crypt_on_the_next_plan(
    tmp_path: Path, crypt_calls: list[str]
) -> None:
    hashed = hash_password("Secret-One-1")
    assert _plan(tmp_path, "Secret-One-1", hashed) == []
    assert len(crypt_calls) == 1
    assert _plan(tmp_path, "Secret-One-1", hashed) == []
    assert len(crypt_calls) == 1  # remembered: no crypt


def test_a_new_secret_or_a_new_device_hash_runs_crypt_again(
    tmp_path: Path, crypt_calls: list[str]
) -> None:
    hashed = hash_password("Secret-One-1")
    _plan(tmp_path, "Secret-One-1", hashed)
    changed = _plan(tmp_path, "Secret-Two-2", hashed)
    assert [c.dotted for c in changed] == ["access.users[op].password"]
    other = hash_password("Set-Out-Of-Band-3")
    changed = _plan(tmp_path, "Secret-One-1", other)
    assert [c.dotted for c in changed] == ["access.users[op].password"]
    assert len(crypt_calls) == 3


def test_the_memo_holds_no_secret_and_is_private(tmp_path: Path) -> None:
    hashed = hash_password("Secret-One-1")
    _plan(tmp_path, "Secret-One-1", hashed)
    records = (tmp_path / RECORDS_FILE).read_text()
    assert "Secret-One-1" not in records and hashed not in records
    for name in (KEY_FILE, RECORDS_FILE):
        assert (tmp_path / name).stat().st_mode & 0o077 == 0


def test_a_password_the_apply_set_needs_no_crypt_on_the_next_plan(
    tmp_path: Path, crypt_calls: list[str]
) -> None:
    state = tmp_path / "state"
    backend, store = SimBackend.open(state, "UNO-2484G"), Store(state)
    desired = {"access": {"users": [{"name": "op", "password": {"secretRef": "pw"}}]}}
    secrets = {"pw": "Secret-One-1"}.__getitem__
    plan = make_plan("dev", "sim", desired, backend.observe(), secrets=secrets)
    result = apply_plan(plan, backend, store, desired=desired, source="test", secrets=secrets)
    assert result.status == "applied"
    assert len(crypt_calls) == 1  # the apply's own check that the device took it
    memo = VerifiedPasswords(state)
    assert plan_changes(desired, backend.observe(), secrets=secrets, passwords=memo) == []
    assert len(crypt_calls) == 1
