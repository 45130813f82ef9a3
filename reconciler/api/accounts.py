"""Who may read the status endpoint: the spec's accounts whose roles grant `status:read`.

Passwords are checked against the account's crypt hash (passwordHash) or its secretRef's
value, in constant time, and a dummy check runs for unknown names so timing does not tell
which accounts exist. Failed logins slow down the address that sent them (exponential
delay, for all names it tries and more so for each name), and the spec's `access.authLock`
locks a name for the address that failed, so a remote guesser cannot lock a real account
out for everyone (THREAT-MODEL.md).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.engine.credentials import hash_password, verify_password
from reconciler.spec.permissions import STATUS_READ

if TYPE_CHECKING:
    from reconciler.spec.access import AccessSpec, AuthLock
    from reconciler.spec.device import DeviceSpec

log = logging.getLogger("reconciler.api")

REQUIRED = STATUS_READ
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
    permissions: tuple[str, ...] = ()

    def holds(self, permission: str) -> bool:
        return any(grants(p, permission) for p in self.permissions)


def readers(spec: DeviceSpec | None) -> dict[str, Account]:
    """The enabled accounts of `spec` whose roles grant status:read."""
    from reconciler.spec.access import BUILTIN_ROLES

    access: AccessSpec | None = spec.spec.access if spec is not None else None
    if access is None:
        return {}
    perms: dict[str, tuple[str, ...]] = dict(BUILTIN_ROLES)
    for role in access.roles or []:
        perms.setdefault(role.name, tuple(role.permissions))
    out: dict[str, Account] = {}
    for user in access.users or []:
        held = tuple(p for r in user.roles or [] for p in perms.get(r, ()))
        if user.enabled is False or not any(grants(p) for p in held):
            continue
        ref = user.password.secret_ref if user.password is not None else None
        if user.password_hash is None and ref is None:
            continue
        out[user.name] = Account(user.name, user.password_hash, ref, held)
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
    """Failed logins per key (a name at an address); failTimes failures in failWindow lock
    the key."""

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


class Backoff:
    """Exponential delay per key: after `free` failures, the next attempt must wait
    base * 2^(failures - free) seconds (at most `cap`) after the last failure. Attempts
    refused while waiting do not count; `forget` seconds without a failure start over."""

    def __init__(self, free: int, base: float = 1.0, cap: float = 60.0, forget: float = 900.0):
        self.free, self.base, self.cap, self.forget = free, base, cap, forget
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, key: str, now: float) -> float:
        """Seconds `key` must still wait before its next attempt (0: go ahead)."""
        with self._lock:
            count, last = self._failures.get(key, (0, now))
        if count < self.free or now - last >= self.forget:
            return 0.0
        delay = min(self.cap, self.base * 2.0 ** min(count - self.free, 32))
        return max(0.0, last + delay - now)

    def failed(self, key: str, now: float) -> None:
        with self._lock:
            count, last = self._failures.pop(key, (0, now))
            self._failures[key] = (1 if now - last >= self.forget else count + 1, now)
            while len(self._failures) > MAX_TRACKED_NAMES:
                self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    message: str


BAD_CREDENTIALS = "Login Failed: wrong user name or password"
LOCKED = "Login Failed: account locked after repeated failures, try again later"
ADDRESS_FREE_FAILURES = 10
"""Failed logins an address may make (any names) before each next one is delayed."""
NAME_FREE_FAILURES = 3
"""Failed logins an address may make for one name before each next one is delayed."""


def throttled(seconds: float) -> str:
    return f"Login Failed: too many failed logins, try again in {math.ceil(seconds)} s"


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
        self._by_address = Backoff(ADDRESS_FREE_FAILURES)
        self._by_name = Backoff(NAME_FREE_FAILURES)
        self._dummy = hash_password(secrets_token())
        self._cache_key: DeviceSpec | None = None
        self._readers: dict[str, Account] = {}
        self._policy = LockPolicy()

    def _refresh(self) -> None:
        spec = self._spec()
        if spec is not self._cache_key:
            access = spec.spec.access if spec is not None else None
            self._readers = readers(spec)
            self._policy = LockPolicy.of(access.auth_lock if access is not None else None)
            self._cache_key = spec

    def may_read(self, name: str) -> bool:
        """A token stays valid only while its account still may read status."""
        self._refresh()
        return name in self._readers

    def holds(self, name: str, permission: str) -> bool:
        """Whether `name`'s roles (in the current spec) grant `permission`."""
        self._refresh()
        account = self._readers.get(name)
        return account is not None and account.holds(permission)

    def login(self, name: str, password: str, address: str = "") -> LoginResult:
        """Blocking (crypt is slow on purpose): call it from a worker thread. `address` is
        the client's; throttles and locks apply to it, not to the name everywhere."""
        self._refresh()
        now = self._clock()
        key = f"{name}\0{address}"
        if self._tracker.locked(key, now):
            return LoginResult(False, LOCKED)
        wait = max(self._by_address.wait(address, now), self._by_name.wait(key, now))
        if wait > 0:
            return LoginResult(False, throttled(wait))
        account = self._readers.get(name)
        if self._check(account, password):
            self._tracker.succeeded(key)
            self._by_name.succeeded(key)
            return LoginResult(True, "")
        self._by_address.failed(address, now)
        self._by_name.failed(key, now)
        if self._tracker.failed(key, self._policy, now):
            # Unknown names are not logged: people type passwords into name fields.
            shown = repr(name) if account is not None else "(an unknown name)"
            log.warning(
                "status endpoint: account %s locked for %s after repeated failed logins",
                shown,
                address or "(unknown address)",
            )
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
