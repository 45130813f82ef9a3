"""SecretResolver reads a secret file once while it is unchanged, and a changed one at once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.secrets import SETTLED_NS, SecretNotFound, SecretResolver


def _settled(path: Path) -> None:
    """Make the file look last changed long ago: its contents may then be remembered."""
    os.utime(path, ns=(0, 0))


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    d = tmp_path / "secrets"
    d.mkdir(mode=0o700)
    return d


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)


def test_a_secret_replaced_by_rename_is_read_again(secrets_dir: Path) -> None:
    resolve = SecretResolver(secrets_dir)
    _write(secrets_dir / "pw", "first\n")
    assert resolve("pw") == "first"
    _write(secrets_dir / "pw.new", "second\n")
    (secrets_dir / "pw.new").rename(secrets_dir / "pw")
    assert resolve("pw") == "second"


def test_a_secret_rewritten_in_place_is_read_again(
    secrets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolve = SecretResolver(secrets_dir)
    path = secrets_dir / "pw"
    _write(path, "aaaa")
    # Seen as settled (its ctime is now, so the clock is moved on instead).
    monkeypatch.setattr("time.time_ns", lambda: os.stat(path).st_ctime_ns + 2 * SETTLED_NS)
    assert resolve("pw") == "aaaa"
    with open(path, "r+") as f:  # same inode, same size
        f.write("bbbb")
    os.utime(path, ns=(1, 1))  # a later write in another tick: another mtime
    assert resolve("pw") == "bbbb"


def test_a_recently_changed_file_is_read_every_time(secrets_dir: Path) -> None:
    resolve = SecretResolver(secrets_dir)
    path = secrets_dir / "pw"
    _write(path, "aaaa")
    assert resolve("pw") == "aaaa"
    stat_before = os.stat(path)
    with open(path, "r+") as f:  # maybe within the same tick of the file clock
        f.write("bbbb")
    os.utime(path, ns=(stat_before.st_atime_ns, stat_before.st_mtime_ns))
    assert resolve("pw") == "bbbb"


def test_a_remembered_secret_made_readable_by_others_is_refused(secrets_dir: Path) -> None:
    resolve = SecretResolver(secrets_dir)
    path = secrets_dir / "pw"
    _write(path, "aaaa")
    _settled(path)
    assert resolve("pw") == "aaaa"
    path.chmod(0o644)
    with pytest.raises(SecretNotFound, match="readable by others"):
        resolve("pw")


def test_a_removed_secret_file_falls_back_to_the_environment(
    secrets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolve = SecretResolver(secrets_dir)
    path = secrets_dir / "pw"
    _write(path, "from-file")
    assert resolve("pw") == "from-file"
    path.unlink()
    monkeypatch.setenv("RECONCILER_SECRET_PW", "from-env")
    assert resolve("pw") == "from-env"
    monkeypatch.delenv("RECONCILER_SECRET_PW")
    with pytest.raises(SecretNotFound, match="not found"):
        resolve("pw")
