"""Resolve `{secretRef: NAME}` on the device: a secrets directory (files of mode 0600) or
the environment (RECONCILER_SECRET_<NAME>). Values are never written anywhere; a value read
from a file is kept only while that very file is unchanged, so a plan that refers to one
secret for 1,000 users reads it once, and a rotated secret is read again at once.

"Unchanged" is the file's identity (device, inode, size, mtime, ctime). File times tick
coarsely, so a file changed in the last seconds is read every time: a second write in
the same tick would leave its identity as it was (git's "racily clean" entries)."""

from __future__ import annotations

import os
import re
import stat
import time
from pathlib import Path

ENV_PREFIX = "RECONCILER_SECRET_"


class SecretNotFound(LookupError):
    """A referenced secret is not on this device."""


def env_name(name: str) -> str:
    return ENV_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


FileIdentity = tuple[int, int, int, int, int]
"""Device, inode, size, mtime and ctime (ns): any write or replacement changes one."""

SETTLED_NS = 2_000_000_000
"""A file last changed longer ago than this may be remembered by its identity."""


class SecretResolver:
    """Callable name -> value, looking in `secrets_dir` first, then the environment."""

    def __init__(self, secrets_dir: Path | None) -> None:
        self.secrets_dir = secrets_dir
        self._read: dict[str, tuple[FileIdentity, str]] = {}

    def __call__(self, name: str) -> str:
        if self.secrets_dir is not None:
            value = self._from_file(os.path.join(self.secrets_dir, name))
            if value is not None:
                return value
        value = os.environ.get(env_name(name))
        if value is not None:
            return value
        where = f"{self.secrets_dir}/{name} or " if self.secrets_dir else ""
        raise SecretNotFound(f"secret {name!r} not found: looked in {where}${env_name(name)}")

    def _from_file(self, path: str) -> str | None:
        """The file's value, None when there is no such regular file."""
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise SecretNotFound(
                f"secret file {path} is readable by others (mode {mode:04o}); run: chmod 600 {path}"
            )
        identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        known = self._read.get(path)
        if known is not None and known[0] == identity:
            return known[1]
        with open(path, encoding="utf-8") as f:
            value = f.read().rstrip("\n")
        if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > SETTLED_NS:
            self._read[path] = (identity, value)
        return value
