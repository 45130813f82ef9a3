"""Compare secrets without ever keeping them: fingerprints for device-held secrets and
crypt(3) hashes for account passwords.

SHA-512/SHA-256 crypt go through libpass (the maintained passlib fork); the other formats a
spec may carry (yescrypt `$y$`, bcrypt `$2b$`) are checked by the platform's libcrypt, the
one that reads /etc/shadow, so every hash `passwordHash` accepts can be verified."""

from __future__ import annotations

import functools
import hashlib
import hmac
from typing import Any

from reconciler.engine.change import FINGERPRINT_PREFIX

SHA512_ROUNDS = 5000
"""glibc's default: the hashes chpasswd -e and mkpasswd -m sha-512 write."""


def fingerprint(value: str) -> str:
    """What drivers report instead of a secret the device holds (PSK, MQTT password)."""
    return fingerprint_bytes(value.encode())


def fingerprint_bytes(data: bytes) -> str:
    """The fingerprint of raw bytes (a file's content): equals fingerprint() of its text."""
    digest = hashlib.sha256(b"reconciler-secret-fingerprint\x00" + data).hexdigest()
    return FINGERPRINT_PREFIX + digest


def hash_password(value: str) -> str:
    """SHA-512 crypt hash, the format /etc/shadow and chpasswd -e take."""
    from passlib.hash import sha512_crypt

    return str(sha512_crypt.using(rounds=SHA512_ROUNDS).hash(value))


def verify_password(value: str, hashed: Any) -> bool:
    """Constant-time check of `value` against a crypt hash; False for anything else."""
    if not isinstance(hashed, str) or not hashed.startswith("$"):
        return False
    from passlib.hash import sha256_crypt, sha512_crypt

    for scheme in (sha512_crypt, sha256_crypt):
        if scheme.identify(hashed):
            try:
                return bool(scheme.verify(value, hashed))
            except ValueError:
                return False
    computed = _platform_crypt(value, hashed)
    return computed is not None and hmac.compare_digest(computed, hashed)


@functools.cache
def _libcrypt() -> Any:
    """libcrypt through ctypes (imported here: a plan with sha512 hashes never needs it)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("crypt")
    if name is None:
        return None
    lib = ctypes.CDLL(name)
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = (ctypes.c_char_p, ctypes.c_char_p)
    return lib


def _platform_crypt(value: str, setting: str) -> str | None:
    """crypt(3) of libcrypt for the formats libpass lacks; None when it cannot hash."""
    lib = _libcrypt()
    if lib is None or "\x00" in value:
        return None
    result = lib.crypt(value.encode(), setting.encode())
    if not result or result.startswith(b"*"):
        return None
    return str(result.decode("ascii", "replace"))
