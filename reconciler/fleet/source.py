"""Reading a fleet repo's files safely, from a directory or from a git revision.

Everything the fleet code reads goes through a source, so the same rules hold for the work
tree and for old commits: only regular files (or symlinks that stay inside the fleet
root), no file over the loader's size limit (checked before reading), YAML files directly
in `groups/` and `devices/` only. There is no include mechanism, so there are no cycles.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from reconciler.loader import MAX_FILE_BYTES, Problem, SpecError

YAML_SUFFIXES = (".yaml", ".yml")
MAX_SYMLINK_HOPS = 8


def _error(file: str, message: str, severity: str = "error") -> Problem:
    return Problem(file, 1, 1, "", message, severity)


def _too_big(file: str, size: int) -> SpecError:
    return SpecError(
        [_error(file, f"file is {size} bytes, larger than the {MAX_FILE_BYTES // 1024} KiB limit")]
    )


class FleetSource(ABC):
    """A fleet root: list and read files by POSIX path relative to the root."""

    @abstractmethod
    def display(self, rel: str) -> str:
        """How a file is named in problems (what the user typed, or REV:path)."""

    @abstractmethod
    def exists(self, rel: str) -> bool: ...

    @abstractmethod
    def list_yaml(self, subdir: str) -> tuple[list[str], list[Problem]]:
        """YAML files directly in `subdir` (sorted), and problems with the entries found."""

    @abstractmethod
    def read(self, rel: str) -> bytes:
        """The file's bytes; SpecError with a located problem when it may not be read."""

    def fingerprint(self, rel: str) -> str | None:
        """Git's blob id of the file's content (None if unreadable): equal ids, equal files."""
        try:
            data = self.read(rel)
        except SpecError:
            return None
        return blob_id(data)


def blob_id(data: bytes) -> str:
    """The id git gives a blob with this content, so work-tree files compare with commits."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class DirSource(FleetSource):
    """A fleet root in the file system (the work tree)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.real_root = self.root.resolve()
        self._dirs_inside: dict[str, bool] = {}

    def display(self, rel: str) -> str:
        return str(self.root / rel) if rel else str(self.root)

    def exists(self, rel: str) -> bool:
        return os.path.lexists(self.root / rel)

    def _inside(self, path: Path) -> bool:
        real = Path(os.path.realpath(path))
        return real == self.real_root or real.is_relative_to(self.real_root)

    def _check(self, rel: str) -> os.stat_result:
        """Refuse symlinks that leave the root and anything that is not a regular file."""
        path = self.root / rel
        if not self._inside(path):
            target = os.path.realpath(path)
            raise SpecError(
                [_error(self.display(rel), f"symlink escapes the fleet repo (points to {target})")]
            )
        try:
            st = os.stat(path)
        except OSError as exc:
            raise SpecError(
                [_error(self.display(rel), f"cannot read file: {exc.strerror}")]
            ) from None
        if not stat.S_ISREG(st.st_mode):
            raise SpecError([_error(self.display(rel), "not a regular file")])
        return st

    def list_yaml(self, subdir: str) -> tuple[list[str], list[Problem]]:
        base = self.root / subdir
        problems: list[Problem] = []
        if not os.path.lexists(base):
            return [], problems
        if not self._inside(base):
            msg = f"symlink escapes the fleet repo (points to {os.path.realpath(base)})"
            return [], [_error(self.display(subdir), msg)]
        if not base.is_dir():
            return [], [_error(self.display(subdir), "expected a directory")]
        files: list[str] = []
        with os.scandir(base) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                rel = f"{subdir}/{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    if any(Path(entry.path).rglob("*.y*ml")):
                        problems.append(
                            _error(
                                self.display(rel),
                                f"subdirectory ignored: files in {subdir}/ must sit directly in it",
                                "warning",
                            )
                        )
                    continue
                if entry.name.endswith(YAML_SUFFIXES):
                    files.append(rel)
        return sorted(files), problems

    def _read_plain(self, rel: str) -> bytes | None:
        """The common case without resolving the whole path: a regular file, not a
        symlink, in a directory inside the root. None sends any other case (and every
        error) through the checks that name the problem."""
        path = os.path.join(self.root, rel)
        if not self._dir_inside(os.path.dirname(path)):
            return None
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(path, flags)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
                return None
            data = os.read(fd, st.st_size + 1)  # its size, not the limit: no 1 MiB buffer
            while len(data) <= MAX_FILE_BYTES and (more := os.read(fd, 1 << 16)):
                data += more
        except OSError:
            return None
        finally:
            os.close(fd)
        return data if len(data) <= MAX_FILE_BYTES else None

    def _dir_inside(self, directory: str) -> bool:
        """Whether `directory` resolves inside the root, resolved once per directory."""
        inside = self._dirs_inside.get(directory)
        if inside is None:
            inside = self._dirs_inside[directory] = self._inside(Path(directory))
        return inside

    def read(self, rel: str) -> bytes:
        data = self._read_plain(rel)
        if data is not None:
            return data
        st = self._check(rel)
        if st.st_size > MAX_FILE_BYTES:
            raise _too_big(self.display(rel), st.st_size)
        try:
            with open(self.root / rel, "rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise SpecError(
                [_error(self.display(rel), f"cannot read file: {exc.strerror}")]
            ) from None
        if len(data) > MAX_FILE_BYTES:
            raise _too_big(self.display(rel), len(data))
        return data


_SYMLINK_MODE = 0o120000
_TREE_MODE = 0o040000
_SUBMODULE_MODE = 0o160000


class GitTreeSource(FleetSource):
    """A fleet root inside one git commit: `tree` is the root tree, `prefix` the fleet dir."""

    def __init__(self, tree: Any, prefix: str, label: str) -> None:
        self.tree = tree
        self.prefix = prefix.strip("/")
        self.label = label

    def _full(self, rel: str) -> str:
        return posixpath.join(self.prefix, rel) if self.prefix else rel

    def display(self, rel: str) -> str:
        return f"{self.label}:{self._full(rel)}"

    def _entry(self, full: str) -> Any | None:
        try:
            return self.tree / full if full else self.tree
        except KeyError:
            return None

    def exists(self, rel: str) -> bool:
        return self._entry(self._full(rel)) is not None

    def _resolve(self, rel: str) -> Any:
        """Follow symlinks inside the fleet root; refuse ones that leave it."""
        current = rel
        for _ in range(MAX_SYMLINK_HOPS):
            obj = self._entry(self._full(current))
            if obj is None:
                raise SpecError([_error(self.display(rel), "no such file in this revision")])
            if obj.mode == _SYMLINK_MODE:
                target = obj.data_stream.read().decode("utf-8", "replace")
                joined = posixpath.normpath(posixpath.join(posixpath.dirname(current), target))
                if target.startswith("/") or joined == ".." or joined.startswith("../"):
                    raise SpecError(
                        [_error(self.display(rel), f"symlink escapes the fleet repo ({target})")]
                    )
                current = joined
                continue
            if obj.type != "blob" or obj.mode == _SUBMODULE_MODE:
                raise SpecError([_error(self.display(rel), "not a regular file")])
            return obj
        raise SpecError([_error(self.display(rel), "too many levels of symbolic links")])

    def list_yaml(self, subdir: str) -> tuple[list[str], list[Problem]]:
        tree = self._entry(self._full(subdir))
        if tree is None:
            return [], []
        if tree.type != "tree":
            return [], [_error(self.display(subdir), "expected a directory")]
        files: list[str] = []
        problems: list[Problem] = []
        for obj in tree:
            if obj.name.startswith("."):
                continue
            rel = f"{subdir}/{obj.name}"
            if obj.type == "tree":
                problems.append(
                    _error(
                        self.display(rel),
                        f"subdirectory ignored: files in {subdir}/ must sit directly in it",
                        "warning",
                    )
                )
            elif obj.name.endswith(YAML_SUFFIXES):
                files.append(rel)
        return sorted(files), problems

    def fingerprint(self, rel: str) -> str | None:
        try:
            sha: str = self._resolve(rel).hexsha
        except SpecError:
            return None
        return sha

    def read(self, rel: str) -> bytes:
        blob = self._resolve(rel)
        if blob.size > MAX_FILE_BYTES:
            raise _too_big(self.display(rel), blob.size)
        data: bytes = blob.data_stream.read()
        return data
