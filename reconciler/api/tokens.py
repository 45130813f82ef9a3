"""JSON Web Tokens (ES256) for the status endpoint, signed with a key kept in the state dir.

ES256 (ECDSA P-256) so that clients can check a token with the public certificate the
endpoint serves at GET /auth/certificate, as the portal reference implies. PyJWT encodes
and verifies; only ES256 is accepted, which rules out `alg` confusion (`none`, HS256
keyed with the public key). The signing key never leaves the device.

A key file from an older version (HS256, STATE/api-signing.key) is left alone and unused:
tokens it signed simply stop verifying, and users log in again.
"""

from __future__ import annotations

import datetime
import os
import secrets
import stat
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from reconciler.errors import OperationError
from reconciler.fsutil import atomic_write

KEY_FILE = "api-signing-es256.key"
CERT_FILE = "api-signing.crt"
ALGORITHM = "ES256"
ISSUER = "reconciler"
CERT_DAYS = 3650


@dataclass(frozen=True)
class SigningKey:
    """The private key tokens are signed with and its self-signed certificate (PEM)."""

    private: ec.EllipticCurvePrivateKey
    certificate_pem: bytes


def _create_once(path: Path, data: bytes, mode: int) -> None:
    """Write `path` atomically unless it exists: when two processes start at once, the
    first one's file wins and both then read it (a rename would let the last one win)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, path)
    except FileExistsError:
        return
    finally:
        Path(tmp).unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The key in `path`, created (mode 0600) on first use; a key readable by others is
    refused: anyone who can read it can mint tokens."""
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _create_once(path, pem, 0o600)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise OperationError(
            f"the API signing key {path} is readable by others (mode {mode:04o}); "
            f"run: chmod 600 {path}"
        )
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError:
        loaded = None
    if not isinstance(loaded, ec.EllipticCurvePrivateKey) or loaded.curve.name != "secp256r1":
        raise OperationError(f"the API signing key {path} is damaged; delete it to make a new one")
    return loaded


def _certificate(key: ec.EllipticCurvePrivateKey, common_name: str) -> bytes:
    """A self-signed certificate for `key`, valid for CERT_DAYS from now."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name or ISSUER)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def _matches(pem: bytes, key: ec.EllipticCurvePrivateKey) -> bool:
    try:
        public = x509.load_pem_x509_certificate(pem).public_key()
    except ValueError:
        return False
    return public == key.public_key()


def load_signing_key(state_dir: Path, common_name: str = ISSUER) -> SigningKey:
    """The key (STATE/api-signing-es256.key) and its certificate (STATE/api-signing.crt),
    both made on first use; a certificate that is damaged or not for the key is remade."""
    state_dir.mkdir(parents=True, exist_ok=True)
    key = _private_key(state_dir / KEY_FILE)
    cert_path = state_dir / CERT_FILE
    if not cert_path.exists():
        _create_once(cert_path, _certificate(key, common_name), 0o644)
    pem = cert_path.read_bytes()
    if not _matches(pem, key):
        pem = _certificate(key, common_name)
        atomic_write(cert_path, pem, mode=0o644)
    return SigningKey(key, pem)


@dataclass(frozen=True)
class Claims:
    """What a valid token says: who, until when, and its id (for logout)."""

    subject: str
    expires: float
    token_id: str


class TokenSigner:
    """Issues and verifies tokens; remembers tokens revoked by logout until they expire."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, ttl_seconds: float) -> None:
        self._key = key
        self._public = key.public_key()
        self.ttl = ttl_seconds
        self._revoked: dict[str, float] = {}
        self._lock = threading.Lock()

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
        return jwt.encode(payload, self._key, algorithm=ALGORITHM), claims

    def verify(self, token: str, now: float | None = None) -> Claims | None:
        """The claims of a well-formed, correctly signed, unexpired, unrevoked token."""
        try:
            payload = jwt.decode(
                token,
                self._public,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={
                    "require": ["iss", "sub", "exp", "jti"],
                    "verify_exp": False,  # checked below, against the caller's `now`
                    "verify_iat": False,
                },
            )
        except jwt.InvalidTokenError:
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
