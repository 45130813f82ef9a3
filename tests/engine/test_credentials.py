"""Password hashes: what we write is what chpasswd -e takes, and every format a spec's
passwordHash accepts ($6$, $5$, $y$, $2b$) verifies against the right password only."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from reconciler.engine.credentials import hash_password, verify_password


def test_written_hash_is_sha512_crypt_with_glibc_rounds():
    hashed = hash_password("p@ssw0rd")
    assert hashed.startswith("$6$") and "rounds=" not in hashed
    assert verify_password("p@ssw0rd", hashed)
    assert not verify_password("p@ssw0rd ", hashed)
    assert hash_password("p@ssw0rd") != hashed  # salted


@pytest.mark.parametrize(
    ("password", "hashed"),
    [
        # python3 -c 'import crypt; print(crypt.crypt("pw", "$5$saltsalt"))'
        ("pw", "$5$saltsalt$0rl.MZtoLLPP3X0Rdl8riRnphIcAXJY27/aOAyK2hB5"),
        ("pw", "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$U4SOHmDd8SvW5vCUKSMR6N835VPwFAtgYNhQ9mFFeL5"),
        ("pw", "$2b$12$o41l1DHjiG/nisYv7AIm4OKVAymmxyT1kVRxUdgEKb0UZq2pPJUeS"),
    ],
)
def test_other_crypt_formats_verify(password, hashed):
    assert verify_password(password, hashed)
    assert not verify_password(password + "x", hashed)


@pytest.mark.parametrize("hashed", [None, "", "plain", "$6$", "$zz$nonsense", 42])
def test_garbage_never_verifies(hashed):
    assert not verify_password("pw", hashed)


def test_openssl_reads_our_hash():
    """The platform's own tool agrees: openssl passwd -6 with our salt gives our hash."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    hashed = hash_password("s3cret")
    salt = hashed.split("$")[2]
    out = subprocess.run(
        ["openssl", "passwd", "-6", "-salt", salt, "-stdin"],
        input="s3cret",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == hashed


def test_crypt_comes_from_libpass_not_the_unmaintained_passlib() -> None:
    """passlib's last release was 2020; libpass is its maintained fork (same import name)."""
    import warnings
    from importlib import metadata

    assert metadata.version("libpass")
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.version("passlib")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecation from the crypt path on this Python
        assert verify_password("s3cret", hash_password("s3cret"))
