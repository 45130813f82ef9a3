"""Resolve `{secretRef: NAME}` on the device: a secrets directory (files of mode 0600) or
the environment (RECONCILER_SECRET_<NAME>). Values stay in memory only as long as needed."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

ENV_PREFIX = "RECONCILER_SECRET_"


class SecretNotFound(LookupError):
    """A referenced secret is not on this device."""


def env_name(name: str) -> str:
    return ENV_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


class SecretResolver:
    """Callable name -> value, looking in `secrets_dir` first, then the environment."""

    def __init__(self, secrets_dir: Path | None) -> None:
        self.secrets_dir = secrets_dir

    def __call__(self, name: str) -> str:
        if self.secrets_dir is not None:
            path = self.secrets_dir / name
            if path.is_file():
                mode = stat.S_IMODE(path.stat().st_mode)
                if mode & 0o077:
                    raise SecretNotFound(
                        f"secret file {path} is readable by others (mode {mode:04o}); "
                        f"run: chmod 600 {path}"
                    )
                return path.read_text(encoding="utf-8").rstrip("\n")
        value = os.environ.get(env_name(name))
        if value is not None:
            return value
        where = f"{self.secrets_dir}/{name} or " if self.secrets_dir else ""
        raise SecretNotFound(f"secret {name!r} not found: looked in {where}${env_name(name)}")
