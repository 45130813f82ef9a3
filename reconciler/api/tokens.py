"""JSON Web Tokens (HS256) for the status endpoint, with a signing key kept in the state dir.

Implemented with hmac/hashlib: the endpoint issues and checks only its own tokens, so the
whole of JWT it needs is one algorithm, and a fixed header makes `alg` confusion
impossible (a token whose header is not exactly ours is refused before any other check).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import OperationError

KEY_FILE = "api-signing.key"
KEY_BYTES = 32
ISSUER = "reconciler"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


HEADER = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())


def load_signing_key(state_dir: Path) -> bytes:
    """The key in STATE/api-signing.key, created (mode 0600) on first use.

    A key readable by others is refused: anyone who can read it can mint tokens.
    """
    path = state_dir / KEY_FILE
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        tmp = state_dir / f".{KEY_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_hex(KEY_BYTES).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # fails if another process created the key meanwhile
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise OperationError(
            f"the API signing key {path} is readable by others (mode {mode:04o}); "
            f"run: chmod 600 {path}"
        )
    try:
        key = bytes.fromhex(path.read_text().strip())
    except ValueError:
        key = b""
    if len(key) < 16:
        raise OperationError(f"the API signing key {path} is damaged; delete it to make a new one")
    return key


@dataclass(frozen=True)
class Claims:
    """What a valid token says: who, until when, and its id (for logout)."""

    subject: str
    expires: float
    token_id: str


class TokenSigner:
    """Issues and verifies tokens; remembers tokens revoked by logout until they expire."""

    def __init__(self, key: bytes, ttl_seconds: float) -> None:
        self._key = key
        self.ttl = ttl_seconds
        self._revoked: dict[str, float] = {}
        self._lock = threading.Lock()

    def _sign(self, signing_input: str) -> str:
        return _b64(hmac.new(self._key, signing_input.encode("ascii"), hashlib.sha256).digest())

    def issue(self, subject: str, now: float | None = None) -> tuple[str, Claims]:
        now = time.time() if now is None else now
        claims = Claims(subject, now + self.ttl, secrets.token_urlsafe(12))
        payload = {
            "iss": ISSUER,
            "sub": subject,
            "iat": int(now),
            "exp": int(claims.expires),
            "jti": claims.token_id,
        }
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        signing_input = f"{HEADER}.{body}"
        return f"{signing_input}.{self._sign(signing_input)}", claims

    def verify(self, token: str, now: float | None = None) -> Claims | None:
        """The claims of a well-formed, correctly signed, unexpired, unrevoked token."""
        header, _, rest = token.partition(".")
        body, _, signature = rest.partition(".")
        if header != HEADER or not body or not signature:
            return None
        if not hmac.compare_digest(self._sign(f"{header}.{body}"), signature):
            return None
        try:
            payload = json.loads(_unb64(body))
        except (ValueError, binascii.Error):
            return None
        if not isinstance(payload, dict) or payload.get("iss") != ISSUER:
            return None
        sub, exp, jti = payload.get("sub"), payload.get("exp"), payload.get("jti")
        if not isinstance(sub, str) or not isinstance(exp, int) or not isinstance(jti, str):
            return None
        if exp <= (time.time() if now is None else now) or jti in self._revoked:
            return None
        return Claims(sub, float(exp), jti)

    def revoke(self, claims: Claims) -> None:
        """Logout: the token stops working at once, not only at its expiry."""
        now = time.time()
        with self._lock:
            for jti, exp in list(self._revoked.items()):
                if exp <= now:
                    del self._revoked[jti]
            self._revoked[claims.token_id] = claims.expires
