"""files area: managed files under the host's root, compared by content fingerprint.

Only the paths the backend is focused on (the spec's and those the reconciler created) are
observed: a file system has no list of "managed files". Content is reported only as a
fingerprint, written atomically (temp, fsync, rename); owners are resolved in the root's
own /etc/passwd and /etc/group, so `--root DIR` prepares an image with its own accounts.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reconciler.drivers.linux.context import Context, desired_after
from reconciler.engine.change import FINGERPRINT_PREFIX, Change, Item, is_secret_ref
from reconciler.engine.credentials import fingerprint_bytes
from reconciler.engine.ports import SecretLookup
from reconciler.errors import DeviceFailed, DeviceRefused
from reconciler.fsutil import atomic_write_many


def _ids(text: str | None) -> dict[str, int]:
    """name -> id from a passwd/group file."""
    out: dict[str, int] = {}
    for line in (text or "").splitlines():
        parts = line.split(":")
        if len(parts) > 2 and parts[2].isdigit():
            out.setdefault(parts[0], int(parts[2]))
    return out


class FilesDriver:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.host = ctx.host

    def _accounts(self) -> tuple[dict[str, int], dict[str, int]]:
        return _ids(self.host.read("/etc/passwd")), _ids(self.host.read("/etc/group"))

    def observe(self) -> list[dict[str, Any]]:
        return self._observe(sorted(self.ctx.file_paths))

    def _observe(self, paths: Sequence[str]) -> list[dict[str, Any]]:
        """The files among `paths` that exist, each with its fingerprint, mode and owners.
        Plain os.path joins: this runs once per managed file, where pathlib costs show."""
        users, groups = self._accounts()
        user_names = {v: k for k, v in users.items()}
        group_names = {v: k for k, v in groups.items()}
        root = os.fspath(self.host.root)
        out: list[dict[str, Any]] = []
        for path in paths:
            full = os.path.join(root, path.lstrip("/"))
            try:
                st = os.lstat(full)
            except OSError:
                continue
            item: dict[str, Any] = {"name": path}
            if stat.S_ISREG(st.st_mode):
                with open(full, "rb") as fh:
                    item["content"] = fingerprint_bytes(fh.read())
                item["mode"] = f"{stat.S_IMODE(st.st_mode):04o}"
                item["owner"] = user_names.get(st.st_uid, str(st.st_uid))
                item["group"] = group_names.get(st.st_gid, str(st.st_gid))
            out.append(item)
        return out

    def apply(self, changes: Sequence[Change], secrets: SecretLookup) -> None:
        by_path: dict[str, list[Change]] = {}
        state = os.path.realpath(self.ctx.state_dir)
        for change in changes:
            last = change.path[1] if len(change.path) > 1 else None
            if not isinstance(last, Item):
                raise DeviceRefused("files: a change must name one file")
            self._refuse_state_dir(last.name, state)
            by_path.setdefault(last.name, []).append(change)
        after = desired_after("files", self._observe(sorted(by_path)), changes)
        wanted = {i["name"]: i for i in after if isinstance(i, dict)}
        writes: list[tuple[Path, bytes, int]] = []
        modes: list[tuple[str, int]] = []
        owners: list[tuple[str, dict[str, Any]]] = []
        for path, mine in by_path.items():
            if path not in wanted:  # removed (pruned or ensure: absent)
                self.host.remove(path)
                continue
            want = wanted[path]
            fields = {str(c.path[2]) for c in mine if len(c.path) > 2} or set(want)
            content = want.get("content")
            secret = is_secret_ref(content)
            mode = int(want.get("mode") or ("0600" if secret else "0644"), 8)
            if "content" in fields and content is not None:
                text = secrets(content["secretRef"]) if secret else content
                if not isinstance(text, str) or text.startswith(FINGERPRINT_PREFIX):
                    raise DeviceFailed(f"{path}: no content to write")
                writes.append((self.host.path(path), text.encode(), mode))
            elif "mode" in fields:
                modes.append((path, mode))
            if fields & {"owner", "group"}:
                owners.append((path, want))
        atomic_write_many(writes)
        for path, mode in modes:
            os.chmod(self.host.path(path), mode)
        accounts = self._accounts()
        for path, want in owners:
            self._chown(path, want, accounts)

    def _chown(
        self, path: str, want: dict[str, Any], accounts: tuple[dict[str, int], dict[str, int]]
    ) -> None:
        users, groups = accounts
        uid = gid = -1
        if want.get("owner") is not None:
            if want["owner"] not in users:
                raise DeviceFailed(f"{path}: no user {want['owner']!r} in /etc/passwd")
            uid = users[want["owner"]]
        if want.get("group") is not None:
            if want["group"] not in groups:
                raise DeviceFailed(f"{path}: no group {want['group']!r} in /etc/group")
            gid = groups[want["group"]]
        os.chown(self.host.path(path), uid, gid)

    def _refuse_state_dir(self, path: str, state: str) -> None:
        """`state` is the state dir's real path; symlinks in `path` are resolved too."""
        target = os.path.realpath(self.host.path(path))
        if target == state or target.startswith(state + os.sep):
            raise DeviceRefused(f"{path} is inside the reconciler's state dir {state}")
