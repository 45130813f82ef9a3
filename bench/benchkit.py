"""What several bench scripts share: the secrets a spec refers to, written as a device keeps
them (mode 0600), so a script keeps working when an example gains a secretRef."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

SECRET_REF = re.compile(r"secretRef:\s*([A-Za-z0-9][A-Za-z0-9_.-]*)")


def make_secrets(root: Path, spec: Path, extra: Iterable[str] = ()) -> Path:
    """`root/secrets` holding a value for every secretRef in `spec` and each of `extra`."""
    names = set(SECRET_REF.findall(spec.read_text())) | set(extra)
    d = root / "secrets"
    d.mkdir(mode=0o700)
    for name in sorted(names):
        (d / name).write_text(f"bench-{name}-value\n")
        (d / name).chmod(0o600)
    return d
