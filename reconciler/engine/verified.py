"""Which (password secret, device hash) pairs the reconciler has already checked.

SHA-512 crypt is slow on purpose (~3 ms a user), and a plan would re-run it for every
user on every pass although nothing changed. Once a secret has been verified against the
hash the device reports, a MAC of the pair (keyed BLAKE2b: cheaper per user than HMAC) is
kept, keyed by a random key of this state directory; a later plan that sees the same secret
and the same hash skips crypt. The record holds neither the secret nor anything usable
without the key, and any change to either side (a new secret, a hash changed on the
device) misses it and runs crypt again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
from pathlib import Path
from typing import Protocol

from reconciler.fsutil import atomic_write

KEY_FILE = "verified.key"
RECORDS_FILE = "verified-passwords.json"
MAX_RECORDS = 10_000
"""Oldest records are dropped beyond this (each one is a user's current pair)."""


class PasswordMemo(Protocol):
    """What the planner asks before (and tells after) running crypt."""

    def known(self, secret: str, hashed: str) -> bool: ...

    def remember(self, secret: str, hashed: str) -> None: ...


class NoMemo:
    """Always crypt (tests, one-off checks)."""

    def known(self, secret: str, hashed: str) -> bool:
        return False

    def remember(self, secret: str, hashed: str) -> None:
        return None


class VerifiedPasswords:
    """The memo of one state directory: a 0600 key file and a 0600 list of MACs."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self._key: bytes | None = None
        self._records: dict[str, None] | None = None
        self._dirty = False
        self._digests: dict[str, bytes] = {}

    def _load(self) -> tuple[bytes, dict[str, None]]:
        if self._key is None or self._records is None:
            self._key = self._read_key()
            try:
                data = json.loads((self.dir / RECORDS_FILE).read_text())
                records = [r for r in data if isinstance(r, str)] if isinstance(data, list) else []
            except (OSError, ValueError):
                records = []
            self._records = dict.fromkeys(records)
        return self._key, self._records

    def _read_key(self) -> bytes:
        path = self.dir / KEY_FILE
        try:
            key = path.read_bytes()
            if len(key) == 32:
                return key
        except OSError:
            pass
        key = secrets.token_bytes(32)
        with contextlib.suppress(OSError):  # a read-only state dir: this process's memo only
            atomic_write(path, key, mode=0o600)
        return key

    def _record(self, secret: str, hashed: str) -> str:
        key, _ = self._load()
        digest = self._digests.get(secret)
        if digest is None:  # many users share a secret: its digest is taken once
            digest = self._digests[secret] = hashlib.sha256(secret.encode()).digest()
        message = digest + b"\x00" + hashed.encode()
        return hashlib.blake2b(message, key=key, digest_size=32).hexdigest()

    def known(self, secret: str, hashed: str) -> bool:
        record = self._record(secret, hashed)
        _, records = self._load()
        return record in records

    def remember(self, secret: str, hashed: str) -> None:
        record = self._record(secret, hashed)
        _, records = self._load()
        if record not in records:
            records[record] = None
            while len(records) > MAX_RECORDS:
                del records[next(iter(records))]
            self._dirty = True

    def save(self) -> None:
        """Write the records if any were added (atomically; never fails a plan)."""
        if not self._dirty or self._records is None:
            return
        try:
            data = json.dumps(list(self._records)).encode()
            atomic_write(self.dir / RECORDS_FILE, data, mode=0o600)
            self._dirty = False
        except OSError:
            pass
