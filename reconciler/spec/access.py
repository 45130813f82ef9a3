"""Access: roles, accounts, password policy, auth lock, sessions, ssh and https servers.

Ranges follow the gateway reference (roles, users, password-policy, auth-lock, sessions,
sshserver, httpserver). The gateway doc lists no built-in roles, but both references ship
a built-in admin account, so `admin` (every permission, `*:*`) is the one built-in role,
held by the model's admin account. Every other role, `viewer` included, is declared in
`roles`.
"""

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema, field_validator

from reconciler.profiles import HardwareProfile
from reconciler.spec.base import Loc, Port, SecretRef, SpecModel
from reconciler.spec.permissions import PATTERN as PERMISSION_PATTERN
from reconciler.spec.permissions import check_permission

BUILTIN_ROLES: dict[str, tuple[str, ...]] = {"admin": ("*:*",)}
"""Roles every device has; they cannot be redefined in `roles`."""

_ROLE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9+=,.@_-]{0,63}$")


def _role_name(value: str) -> str:
    """Gateway doc roles pattern: 1..64 characters, letters, digits and +=,.@_-."""
    if not _ROLE.match(value):
        raise ValueError(
            f"invalid role name {value!r}: use 1-64 letters, digits or '+=,.@_-', "
            "starting with a letter or digit"
        )
    return value


RoleName = Annotated[
    str, AfterValidator(_role_name), WithJsonSchema({"type": "string", "pattern": _ROLE.pattern})
]

_USER = re.compile(r"^[a-zA-Z0-9]+[a-zA-Z0-9+=,.@_-]{0,63}$")


def _user_name(value: str) -> str:
    """The gateway doc's users rule exactly (1..64 letters, digits and +=,.@_-, starting with
    a letter or digit). The linux backend takes the subset that is a Linux account name and
    refuses the rest at apply with the reason (reconciler.drivers.linux.access)."""
    if len(value) <= 64 and _USER.match(value):
        return value
    problem = (
        f"invalid user name {value!r}: use 1-64 letters, digits or '+=,.@_-', "
        "starting with a letter or digit"
    )
    hint = re.sub(r"[^a-zA-Z0-9+=,.@_-]+", "_", value).lstrip("+=,.@_-")[:64]
    if hint and hint != value and _USER.match(hint):
        problem += f"; did you mean {hint!r}?"
    raise ValueError(problem)


UserName = Annotated[
    str,
    AfterValidator(_user_name),
    WithJsonSchema({"type": "string", "maxLength": 64, "pattern": _USER.pattern}),
]

Permission = Annotated[
    str,
    AfterValidator(check_permission),
    WithJsonSchema({"type": "string", "pattern": PERMISSION_PATTERN}),
]
"""`area:verb` from the vocabulary in reconciler.spec.permissions, e.g. status:read,
network:write; `*` matches any area or verb."""

_CRYPT = {
    "sha512-crypt": re.compile(r"^\$6\$(rounds=\d+\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{86}$"),
    "sha256-crypt": re.compile(r"^\$5\$(rounds=\d+\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{43}$"),
    "yescrypt": re.compile(r"^\$y\$[./A-Za-z0-9]+\$[./A-Za-z0-9]{1,86}\$[./A-Za-z0-9]{43}$"),
    "bcrypt": re.compile(r"^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$"),
}


def _crypt_hash(value: str) -> str:
    """A crypt(3) hash the device can put in /etc/shadow; weak MD5/DES hashes are refused."""
    if any(p.match(value) for p in _CRYPT.values()):
        return value
    if value.startswith("$1$") or re.fullmatch(r"[./0-9A-Za-z]{13}", value):
        raise ValueError("MD5 and DES crypt hashes are too weak; use $6$ (sha512) or $y$")
    raise ValueError(
        "not a crypt hash: expected $6$... (sha512), $5$..., $y$... (yescrypt) or $2b$... "
        "(e.g. from `mkpasswd -m sha-512`)"
    )


CryptHash = Annotated[str, AfterValidator(_crypt_hash)]

SSH_KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)
"""Key types OpenSSH accepts by default (ssh-dss is disabled since OpenSSH 7.0)."""
MIN_RSA_BITS = 2048


def _ssh_strings(blob: bytes) -> Iterator[bytes]:
    """The length-prefixed strings of an SSH public key blob (RFC 4253 section 6.6)."""
    pos = 0
    while pos < len(blob):
        if pos + 4 > len(blob):
            raise ValueError("truncated")
        size = int.from_bytes(blob[pos : pos + 4], "big")
        pos += 4
        if pos + size > len(blob):
            raise ValueError("truncated")
        yield blob[pos : pos + size]
        pos += size


def _ssh_key(value: str) -> str:
    """One authorized_keys entry: `TYPE BASE64 [comment]`, no options; the blob is checked."""
    parts = value.strip().split(None, 2)
    if "\n" in value.strip() or len(parts) < 2:
        raise ValueError("expected one public key line: 'TYPE BASE64 [comment]'")
    kind, data = parts[0], parts[1]
    if any(c in kind for c in '=,"'):
        raise ValueError("authorized_keys options are not supported; give 'TYPE BASE64 [comment]'")
    if kind not in SSH_KEY_TYPES:
        raise ValueError(
            f"unsupported key type {kind!r}; expected one of " + ", ".join(sorted(SSH_KEY_TYPES))
        )
    try:
        fields = list(_ssh_strings(base64.b64decode(data, validate=True)))
    except (binascii.Error, ValueError):
        raise ValueError(f"the {kind} key data is not a valid base64 public key") from None
    if not fields or fields[0] != kind.encode():
        raise ValueError(f"the key data does not hold a {kind} key")
    if kind == "ssh-rsa" and len(fields) >= 3:
        bits = int.from_bytes(fields[2], "big").bit_length()
        if bits < MIN_RSA_BITS:
            raise ValueError(f"RSA key of {bits} bits is too short (at least {MIN_RSA_BITS})")
    return value.strip()


SshPublicKey = Annotated[str, AfterValidator(_ssh_key)]


class Role(SpecModel):
    """A named set of permissions (gateway doc: roles)."""

    name: RoleName
    """Role name; roles are merged, diffed and pruned by name."""
    description: str | None = Field(default=None, max_length=512)
    """Free text."""
    permissions: list[Permission] = Field(min_length=1)
    """Permissions granted, `area:verb` (the status endpoint needs status:read)."""


class User(SpecModel):
    """A device account (gateway doc: users)."""

    name: UserName
    """Account name; accounts are merged, diffed and pruned by name. The gateway doc's rule
    (1..64 letters, digits, +=,.@_-); the linux backend refuses names that are not Linux
    account names (1..32 lower-case letters, digits, _.-) with that reason."""
    description: str | None = Field(default=None, max_length=512)
    """Free text."""
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    """Contact address."""
    enabled: bool | None = None
    """Account may log in (gateway doc: isActive)."""
    roles: list[RoleName] | None = Field(default=None, min_length=1)
    """Role names, declared in `roles` or built in (admin)."""
    password: SecretRef | None = None
    """Password from the device's secrets; exclusive with `passwordHash`."""
    password_hash: CryptHash | None = None
    """Password as a crypt hash ($6$..., $y$...); exclusive with `password`."""
    ssh_authorized_keys: list[SshPublicKey] | None = None
    """Public keys allowed to log in over ssh (the whole list is managed)."""


class PasswordPolicy(SpecModel):
    """Rules new passwords must meet (gateway doc: password-policy)."""

    length_min: int | None = Field(default=None, ge=8, le=256)
    """Minimum length, 8..256 (doc default 8)."""
    at_least_one_digit: bool | None = None
    """Require a digit."""
    at_least_one_special: bool | None = None
    """Require a special character."""
    mixed_upper_lower_letters: bool | None = None
    """Require both upper- and lower-case letters."""
    enable_reminder: bool | None = None
    """Remind users to change their password."""
    reminder_frequency_day: int | None = Field(default=None, ge=10, le=360)
    """Days between reminders, 10..360 (doc default 180)."""


class AuthLock(SpecModel):
    """Lock an account after repeated failed logins (gateway doc: auth-lock)."""

    enable: bool | None = None
    """Turn the lock on."""
    fail_times: int | None = Field(default=None, ge=3, le=32)
    """Failed logins that lock the account, 3..32 (doc default 10)."""
    fail_window: int | None = Field(default=None, ge=1, le=60)
    """Minutes in which failures are counted, 1..60 (doc default 15)."""
    lock_window: int | None = Field(default=None, ge=5, le=1440)
    """Minutes the account stays locked, 5..1440 (doc default 10)."""


class Sessions(SpecModel):
    """Login session limits (gateway doc: session control)."""

    max_count_by_user: int | None = Field(default=None, ge=1, le=32)
    """Concurrent sessions per user, 1..32 (doc default 5)."""
    timeout_min: int | None = Field(default=None, ge=60, le=28800)
    """Absolute session lifetime in minutes, 60..28800 (doc default 1440)."""
    idle_timeout_min: int | None = Field(default=None, ge=1, le=1440)
    """Minutes of inactivity that end a session, 1..1440; not above `timeoutMin`."""


class Ssh(SpecModel):
    """The ssh server (gateway doc: sshserver)."""

    enable: bool | None = None
    """Run the ssh server."""
    port: Port | None = None
    """Listen port, 1..65535."""
    password_authentication: bool | None = None
    """Allow password logins; false allows keys only."""


class HttpServer(SpecModel):
    """The device's web server (gateway doc: httpserver)."""

    redirect_to_https: bool | None = None
    """Redirect plain http to https."""
    https_port: int | None = Field(default=None, ge=1, le=65535)
    """https listen port: 443 or 1024..65535."""

    @field_validator("https_port")
    @classmethod
    def _https_port(cls, value: int | None) -> int | None:
        if value is not None and value != 443 and value < 1024:
            raise ValueError(f"https port must be 443 or within 1024..65535, not {value}")
        return value


class AccessSpec(SpecModel):
    roles: list[Role] | None = None
    """Custom roles; `admin` is built in."""
    users: list[User] | None = None
    """Device accounts."""
    password_policy: PasswordPolicy | None = None
    """Password rules."""
    auth_lock: AuthLock | None = None
    """Lock-out after failed logins."""
    sessions: Sessions | None = None
    """Session limits."""
    ssh: Ssh | None = None
    """ssh server settings."""
    http_server: HttpServer | None = None
    """Web server settings."""
    prune: bool = False
    """Remove users and roles this reconciler created earlier that are gone from the spec
    (never accounts it did not create, never the built-in admin)."""


def document_problems(spec: AccessSpec) -> Iterator[tuple[Loc, str]]:
    """Cross-field checks, located at the offending key (relative to `access`)."""
    declared = {role.name for role in spec.roles or []}
    for i, role in enumerate(spec.roles or []):
        if role.name in BUILTIN_ROLES:
            yield ("roles", i, "name"), f"{role.name!r} is a built-in role and cannot be redefined"
        seen: set[str] = set()
        for j, perm in enumerate(role.permissions):
            if perm in seen:
                yield ("roles", i, "permissions", j), f"{perm} is listed twice"
            seen.add(perm)
    known = declared | set(BUILTIN_ROLES)
    for i, user in enumerate(spec.users or []):
        here: Loc = ("users", i)
        assigned: set[str] = set()
        for j, role_name in enumerate(user.roles or []):
            if role_name in assigned:
                yield (*here, "roles", j), f"role {role_name!r} is listed twice"
            elif role_name not in known:
                yield (
                    (*here, "roles", j),
                    f"undefined role {role_name!r}; declare it in access.roles "
                    f"(known: {', '.join(sorted(known))})",
                )
            assigned.add(role_name)
        if user.password is not None and user.password_hash is not None:
            yield (*here, "passwordHash"), "give either password or passwordHash, not both"
        keys: set[str] = set()
        for j, key in enumerate(user.ssh_authorized_keys or []):
            blob = key.split()[1]
            if blob in keys:
                yield (*here, "sshAuthorizedKeys", j), "this key is listed twice"
            keys.add(blob)
    sessions = spec.sessions
    if (
        sessions is not None
        and sessions.idle_timeout_min is not None
        and sessions.timeout_min is not None
        and sessions.idle_timeout_min > sessions.timeout_min
    ):
        yield (
            ("sessions", "idleTimeoutMin"),
            f"idle timeout {sessions.idle_timeout_min} min exceeds the session timeout "
            f"{sessions.timeout_min} min",
        )
    ssh_port = spec.ssh.port if spec.ssh is not None else None
    https_port = spec.http_server.https_port if spec.http_server is not None else None
    if ssh_port is not None and ssh_port == https_port:
        yield ("httpServer", "httpsPort"), f"port {https_port} is already the ssh port"


def capability_problems(spec: AccessSpec, profile: HardwareProfile) -> Iterator[tuple[Loc, str]]:
    """The model's built-in admin account keeps the admin role; then cross-field checks."""
    for i, user in enumerate(spec.users or []):
        if user.name == profile.admin_user and user.roles is not None and "admin" not in user.roles:
            yield (
                ("users", i, "roles"),
                f"{user.name} is {profile.model}'s built-in admin account and keeps the admin role",
            )
    yield from document_problems(spec)
