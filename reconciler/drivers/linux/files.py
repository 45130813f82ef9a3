"""Small file idioms the drivers share: config plus drop-ins, KEY=VALUE rewrites, symlinks,
and snapshots of files that a revert puts back byte for byte."""

from __future__ import annotations

import base64
import os
import re
import stat
from typing import Any

from reconciler.drivers.linux.host import Host
from reconciler.fsutil import atomic_write

MANAGED_HEADER = "# Managed by reconciler: changes here are overwritten.\n"


def dropins(host: Host, dropin_dir: str) -> list[str]:
    """The texts of each `*.conf` in `dropin_dir`, in lexical (application) order."""
    texts = []
    for name in host.listdir(dropin_dir):
        if name.endswith(".conf"):
            text = host.read(f"{dropin_dir}/{name}")
            if text is not None:
                texts.append(text)
    return texts


def with_dropins(host: Host, main: str, dropin_dir: str) -> list[str]:
    """The texts of `main` and then its drop-ins, in the order they apply."""
    return [t for t in [host.read(main)] if t is not None] + dropins(host, dropin_dir)


def set_env_key(text: str, key: str, value: str) -> str:
    """`text` (KEY=VALUE lines) with `key` set to `value`, other lines kept. The value is
    double-quoted with `"`, `\\`, `$` and backquote escaped, as systemd and shells read
    these files, so a description holding them reads back the same."""
    escaped = re.sub(r'(["\\$`])', r"\\\1", value)
    line = f'{key}="{escaped}"'
    out, done = [], False
    for old in text.splitlines():
        if old.split("=", 1)[0].strip() == key:
            if not done:
                out.append(line)
                done = True
            continue
        out.append(old)
    if not done:
        out.append(line)
    return "\n".join(out) + "\n"


def symlink(host: Host, path: str, target: str) -> None:
    """Point `path` at `target` atomically (new link beside it, then rename)."""
    dest = host.path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.reconciler-tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, dest)


def snapshot(host: Host, paths: list[str]) -> dict[str, Any]:
    """The current content, mode or link target of each path (None: absent), as JSON data
    a revert can restore exactly."""
    out: dict[str, Any] = {}
    for path in paths:
        real = host.path(path)
        if real.is_symlink():
            out[path] = {"link": os.readlink(real)}
        elif real.is_file():
            out[path] = {
                "data": base64.b64encode(real.read_bytes()).decode(),
                "mode": stat.S_IMODE(real.stat().st_mode),
            }
        else:
            out[path] = None
    return out


def restore(host: Host, snap: dict[str, Any]) -> None:
    """Put every path of a snapshot back as it was (removing those that did not exist)."""
    for path, entry in snap.items():
        if entry is None:
            host.remove(path)
        elif "link" in entry:
            symlink(host, path, entry["link"])
        else:
            atomic_write(host.path(path), base64.b64decode(entry["data"]), mode=entry["mode"])
