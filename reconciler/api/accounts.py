"""Who may read the status endpoint: the spec's accounts whose roles grant `status:read`.

Passwords are checked against the account's crypt hash (passwordHash) or its secretRef's
value, in constant time, and a dummy check runs for unknown names so timing does not tell
which accounts exist. Repeated failures lock the name as the spec's `access.authLock` says.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.engine.credentials import hash_password, verify_password

if TYPE_CHECKING:
    from reconciler.spec.access import AccessSpec, AuthLock
    from reconciler.spec.device import DeviceSpec

log = logging.getLogger("reconciler.api")

REQUIRED = "status:read"
METRICS_READ = "metrics:read"
"""What HTTP Basic on /metrics needs (a scraper's account need not read status)."""
MAX_TRACKED_NAMES = 4096
"""Failure records kept at most (names tried by a scanner are forgotten oldest first)."""


def grants(permission: str, wanted: str = REQUIRED) -> bool:
    """`area:verb` with `*` matching any area or verb (`*:*`, `status:*`, `*:read`)."""
    area, _, verb = permission.partition(":")
    want_area, _, want_verb = wanted.partition(":")
    return area in ("*", want_area) and verb in ("*", want_verb)


@dataclass(frozen=True)
class Account:
    """One spec account allowed to read status; holds a hash or a secret's name, no value."""

    name: str
    password_hash: str | None
    secret_ref: str | None


def readers(spec: DeviceSpec | None, permission: str = REQUIRED) -> dict[str, Account]:
    """The enabled accounts of `spec` whose roles grant `permission`."""
    from reconciler.spec.access import BUILTIN_ROLES

    access: AccessSpec | None = spec.spec.access if spec is not None else None
    if access is None:
        return {}
    perms: dict[str, tuple[str, ...]] = dict(BUILTIN_ROLES)
    for role in access.roles or []:
        perms.setdefault(role.name, tuple(role.permissions))
    out: dict[str, Account] = {}
    for user in access.users or []:
        if user.enabled is False:
            continue
        if not any(grants(p, permission) for r in user.roles or [] for p in perms.get(r, ())):
            continue
        ref = user.password.secret_ref if user.password is not None else None
        if user.password_hash is None and ref is None:
            continue
        out[user.name] = Account(user.name, user.password_hash, ref)
    return out


@dataclass(frozen=True)
class LockPolicy:
    """access.authLock in seconds; inactive unless the spec enables it."""

    enabled: bool = False
    fail_times: int = 10
    fail_window: float = 15 * 60.0
    lock_window: float = 10 * 60.0

    @classmethod
    def of(cls, lock: AuthLock | None) -> LockPolicy:
        if lock is None or not lock.enable:
            return cls()
        return cls(
            True,
            lock.fail_times or cls.fail_times,
            60.0 * (lock.fail_window or 15),
            60.0 * (lock.lock_window or 10),
        )


class FailureTracker:
    """Failed logins per name; a name with failTimes failures in failWindow is locked."""

    def __init__(self) -> None:
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._locked: dict[str, float] = {}
        self._lock = threading.Lock()

    def locked(self, name: str, now: float) -> bool:
        with self._lock:
            until = self._locked.get(name)
            if until is None:
                return False
            if until > now:
                return True
            del self._locked[name]
            return False

    def failed(self, name: str, policy: LockPolicy, now: float) -> bool:
        """Record a failure; True when it locks the name."""
        if not policy.enabled:
            return False
        with self._lock:
            times = self._failures.pop(name, None) or deque()
            times.append(now)
            while times and times[0] <= now - policy.fail_window:
                times.popleft()
            self._failures[name] = times
            while len(self._failures) > MAX_TRACKED_NAMES:
                self._failures.popitem(last=False)
            if len(times) >= policy.fail_times:
                if len(self._locked) >= MAX_TRACKED_NAMES:
                    self._locked = {k: t for k, t in self._locked.items() if t > now}
                self._locked[name] = now + policy.lock_window
                del self._failures[name]
                return True
            return False

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    message: str


BAD_CREDENTIALS = "Login Failed: wrong user name or password"
LOCKED = "Login Failed: account locked after repeated failures, try again later"


class Authenticator:
    """Checks credentials against the current spec's readers (the spec may change)."""

    def __init__(
        self,
        spec: Callable[[], DeviceSpec | None],
        secrets: Callable[[str], str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._spec = spec
        self._secrets = secrets
        self._clock = clock
        self._tracker = FailureTracker()
        self._dummy = hash_password(secrets_token())
        self._cache_key: DeviceSpec | None = None
        self._readers: dict[str, dict[str, Account]] = {REQUIRED: {}, METRICS_READ: {}}
        self._policy = LockPolicy()

    def _refresh(self) -> None:
        spec = self._spec()
        if spec is not self._cache_key:
            access = spec.spec.access if spec is not None else None
            self._readers = {p: readers(spec, p) for p in (REQUIRED, METRICS_READ)}
            self._policy = LockPolicy.of(access.auth_lock if access is not None else None)
            self._cache_key = spec

    def may_read(self, name: str) -> bool:
        """A token stays valid only while its account still may read status."""
        self._refresh()
        return name in self._readers[REQUIRED]

    def login(self, name: str, password: str, permission: str = REQUIRED) -> LoginResult:
        """Blocking (crypt is slow on purpose): call it from a worker thread. Only accounts
        granted `permission` (status:read, or metrics:read for Basic on /metrics) pass."""
        self._refresh()
        now = self._clock()
        account = self._readers[permission].get(name)
        ok = self._check(account, password)
        if self._tracker.locked(name, now):
            return LoginResult(False, LOCKED)
        if ok:
            self._tracker.succeeded(name)
            return LoginResult(True, "")
        if self._tracker.failed(name, self._policy, now):
            # Unknown names are not logged: people type passwords into name fields.
            shown = repr(name) if account is not None else "(an unknown name)"
            log.warning("status endpoint: account %s locked after repeated failed logins", shown)
            return LoginResult(False, LOCKED)
        return LoginResult(False, BAD_CREDENTIALS)

    def _check(self, account: Account | None, password: str) -> bool:
        if account is None:
            verify_password(password, self._dummy)
            return False
        if account.password_hash is not None:
            return verify_password(password, account.password_hash)
        try:
            expected = self._secrets(account.secret_ref or "")
        except LookupError as exc:
            log.warning("status endpoint: cannot check %r's password: %s", account.name, exc)
            verify_password(password, self._dummy)
            return False
        return hmac.compare_digest(_digest(password), _digest(expected))


def _digest(value: str) -> bytes:
    """Compare digests, not values, so the comparison time does not depend on length."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def secrets_token() -> str:
    return secrets.token_urlsafe(24)
