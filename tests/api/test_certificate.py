"""GET /auth/certificate: the certificate of the key tokens are signed with, checked here
with `cryptography` alone (not our token code), as a client verifying tokens would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import stat
from pathlib import Path

import pytest
from apikit import UNO, Served, serve, uno, write_secrets
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID

from reconciler.api.tokens import CERT_FILE, KEY_FILE, load_signing_key

__all__ = ["uno"]

DOWNLOAD_HEADERS = {
    "content-type": "application/octet-stream",
    "content-description": "File Transfer",
    "content-transfer-encoding": "Binary",
    "content-disposition": "attachment; filename=cert.pem.crt",
}


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _download(served: Served) -> x509.Certificate:
    with served.client() as c:  # no token: the certificate is public
        response = c.get("/auth/certificate")
    assert response.status_code == 200, response.text
    for name, value in DOWNLOAD_HEADERS.items():
        assert response.headers[name] == value
    assert b"PRIVATE" not in response.content
    return x509.load_pem_x509_certificate(response.content)


def _verify(cert: x509.Certificate, token: str) -> None:
    """ES256 as RFC 7515 defines it: the signature is r || s over `header.payload`."""
    header, payload, signature = token.split(".")
    assert json.loads(_b64(header))["alg"] == "ES256"
    raw = _b64(signature)
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(der, f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))


def test_downloaded_certificate_verifies_issued_tokens(uno: Served) -> None:
    cert = _download(uno)
    (cn,) = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert cn.value == "api-test-uno"
    assert cert.issuer == cert.subject
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days >= 3650
    _verify(cert, uno.login("monitor").json()["token"])


def test_tampered_token_fails_the_certificate_and_the_endpoint(uno: Served) -> None:
    cert = _download(uno)
    header, payload, signature = uno.login("monitor").json()["token"].split(".")
    claims = json.loads(_b64(payload))
    claims["sub"] = "operator"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    tampered = f"{header}.{forged}.{signature}"
    with pytest.raises(InvalidSignature):
        _verify(cert, tampered)
    with uno.client(tampered) as c:
        assert c.get("/platform/api/perif/wdt").status_code == 401


def test_private_key_is_0600_and_not_what_is_served(uno: Served) -> None:
    key_file = uno.state_dir / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    private = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    cert = _download(uno)
    assert cert.public_key() == private.public_key()
    assert cert.public_bytes(serialization.Encoding.PEM) == (uno.state_dir / CERT_FILE).read_bytes()


def test_certificate_is_kept_and_remade_for_a_new_key(tmp_path: Path) -> None:
    first = load_signing_key(tmp_path, "edge-1")
    again = load_signing_key(tmp_path, "edge-1")
    assert again.certificate_pem == first.certificate_pem
    assert again.private.public_key() == first.private.public_key()
    (tmp_path / KEY_FILE).unlink()
    second = load_signing_key(tmp_path, "edge-1")
    assert second.certificate_pem != first.certificate_pem
    cert = x509.load_pem_x509_certificate((tmp_path / CERT_FILE).read_bytes())
    assert cert.public_key() == second.private.public_key()


def test_old_hs256_key_does_not_break_startup(tmp_path: Path) -> None:
    """A state dir of an older version: its HS256 key stays unused, its tokens are refused."""
    state = tmp_path / "state"
    state.mkdir()
    old_key = state / "api-signing.key"
    old_key.write_text("ab" * 32)
    old_key.chmod(0o600)
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    claims = {"iss": "reconciler", "sub": "monitor", "iat": 1, "exp": 4_000_000_000, "jti": "x"}
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    mac = hmac.new(bytes.fromhex("ab" * 32), f"{header}.{body}".encode(), hashlib.sha256)
    old_token = f"{header}.{body}." + base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()
    served = serve(UNO, state, write_secrets(tmp_path / "secrets"))
    try:
        with served.client(old_token) as c:
            assert c.get("/platform/api/perif/wdt").status_code == 401
        _verify(_download(served), served.login("monitor").json()["token"])
    finally:
        served.handle.stop()
