"""Compare secrets without ever keeping them: fingerprints for device-held secrets and
crypt(3) hashes for account passwords."""

from __future__ import annotations

import hashlib
import hmac
import warnings
from typing import Any

from reconciler.engine.change import FINGERPRINT_PREFIX


def fingerprint(value: str) -> str:
    """What drivers report instead of a secret the device holds (PSK, MQTT password)."""
    return fingerprint_bytes(value.encode())


def fingerprint_bytes(data: bytes) -> str:
    """The fingerprint of raw bytes (a file's content): equals fingerprint() of its text."""
    digest = hashlib.sha256(b"reconciler-secret-fingerprint\x00" + data).hexdigest()
    return FINGERPRINT_PREFIX + digest


def _crypt() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import crypt
        except ImportError:  # Python >= 3.13
            return None
    return crypt


def hash_password(value: str) -> str:
    """SHA-512 crypt hash, the format /etc/shadow and chpasswd -e take."""
    crypt = _crypt()
    if crypt is not None:
        return str(crypt.crypt(value, crypt.mksalt(crypt.METHOD_SHA512)))
    from passlib.hash import sha512_crypt

    return str(sha512_crypt.using(rounds=5000).hash(value))


def verify_password(value: str, hashed: Any) -> bool:
    """Constant-time check of `value` against a crypt hash; False for anything else."""
    if not isinstance(hashed, str) or not hashed.startswith("$"):
        return False
    crypt = _crypt()
    if crypt is not None:
        computed = crypt.crypt(value, hashed)
        return computed is not None and hmac.compare_digest(str(computed), hashed)
    from passlib.hash import sha512_crypt

    try:
        return bool(sha512_crypt.verify(value, hashed))
    except ValueError:
        return False
