"""Where the agent gets the fleet repo: a Git remote (cloned once into the state dir, then
fetched) or a local directory watched for edits. Both name a revision so the agent can
tell "new" from "seen"."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Literal, Protocol

from reconciler.errors import OperationError


class SourceError(OperationError):
    """The source could not be read now (network, remote gone): transient, retried."""


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """A git command; a remote that hangs is a transient source error, not a crash."""
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise SourceError(
            f"git {args[1] if args[1] != '-C' else args[3]} timed out after {timeout:.0f} s"
        ) from None


Relation = Literal["same", "descendant", "ancestor", "unrelated", "unordered"]
"""How a fetched revision stands to the last applied one; "unordered": the source has no
history to tell (a local directory's content hashes)."""


class Source(Protocol):
    description: str
    repository: Path | None
    """The Git repository whose commits are checked (signatures, history); None if none."""

    def fetch(self) -> str:
        """Bring the newest revision in; return its id (commit SHA or content hash)."""
        ...

    def checkout(self, revision: str) -> Path:
        """Make `revision` the working copy; return the fleet root inside it."""
        ...

    def relation(self, applied: str, fetched: str) -> Relation:
        """Where `fetched` stands to `applied` in the source's history."""
        ...

    def reachable(self) -> bool: ...

    def watch(self, changed: threading.Event, stop: threading.Event) -> None:
        """Set `changed` whenever the source changes (blocking; run in a thread)."""
        ...


class LocalSource:
    """A directory on this machine, for edit-and-see use; watched with inotify events."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = str(root)
        self.repository: Path | None = None

    def fetch(self) -> str:
        if not self.root.is_dir():
            raise SourceError(f"source directory {self.root} does not exist")
        digest = hashlib.sha256()
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and path.suffix in (".yaml", ".yml"):
                digest.update(str(path.relative_to(self.root)).encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
        return "dir:" + digest.hexdigest()[:16]

    def checkout(self, revision: str) -> Path:
        return self.root

    def relation(self, applied: str, fetched: str) -> Relation:
        """A directory has no history: its edits are not ordered, nothing is a rewind."""
        return "same" if applied == fetched else "unordered"

    def reachable(self) -> bool:
        return self.root.is_dir()

    def watch(self, changed: threading.Event, stop: threading.Event) -> None:
        from watchfiles import watch

        for _ in watch(self.root, stop_event=stop, debounce=200, step=50, rust_timeout=1000):
            changed.set()


class GitSource:
    """A Git remote (file://, https, ssh) at a branch or tag; `path` is the fleet root."""

    def __init__(self, url: str, branch: str, path: str, state_dir: Path) -> None:
        self.url = url
        self.branch = branch
        self.path = path
        self.clone_dir = state_dir / "source" / "repo"
        self.repository: Path | None = self.clone_dir
        self.description = f"{url}@{branch}" + (f":{path}" if path else "")

    def _git(self, *args: str, timeout: float = 120) -> str:
        proc = _run(["git", "-C", str(self.clone_dir), *args], timeout)
        if proc.returncode != 0:
            raise SourceError(f"git {args[0]} failed: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc.stdout.strip()

    def _clone(self) -> None:
        shutil.rmtree(self.clone_dir, ignore_errors=True)
        self.clone_dir.parent.mkdir(parents=True, exist_ok=True)
        proc = _run(
            ["git", "clone", "--quiet", "--no-checkout", self.url, str(self.clone_dir)], 300
        )
        if proc.returncode != 0:
            raise SourceError(f"cannot clone {self.url}: {proc.stderr.strip()}")

    def _healthy(self) -> bool:
        if not (self.clone_dir / ".git").is_dir():
            return False
        try:
            self._git("rev-parse", "--git-dir", timeout=10)
            self._git("remote", "get-url", "origin", timeout=10)
        except SourceError:
            return False
        return True

    def fetch(self) -> str:
        """Fetch the branch (or tag); a missing or corrupt clone is cloned again."""
        if not self._healthy():
            self._clone()
        refspecs = [
            f"+refs/heads/{self.branch}:refs/remotes/origin/{self.branch}",
            f"+refs/tags/{self.branch}:refs/tags/{self.branch}",
        ]
        try:
            self._git("fetch", "--quiet", "--force", "origin", *refspecs)
        except SourceError:
            try:  # only one of branch/tag exists; fetch what does
                self._git("fetch", "--quiet", "--force", "origin", refspecs[0])
            except SourceError:
                self._git("fetch", "--quiet", "--force", "origin", refspecs[1])
        for ref in (f"refs/remotes/origin/{self.branch}", f"refs/tags/{self.branch}^{{commit}}"):
            try:
                return self._git("rev-parse", "--verify", "--quiet", ref, timeout=10)
            except SourceError:
                continue
        raise SourceError(f"{self.url} has no branch or tag {self.branch!r}")

    def checkout(self, revision: str) -> Path:
        self._git("checkout", "--quiet", "--force", "--detach", revision)
        self._git("clean", "--quiet", "-fdx")
        root = (self.clone_dir / self.path).resolve()
        if not root.is_relative_to(self.clone_dir.resolve()):
            raise SourceError(f"--path {self.path!r} points outside the repository")
        return root

    def relation(self, applied: str, fetched: str) -> Relation:
        """By the commit graph; a commit the clone does not have is unrelated."""
        if applied == fetched:
            return "same"
        if self._is_ancestor(applied, fetched):
            return "descendant"
        if self._is_ancestor(fetched, applied):
            return "ancestor"
        return "unrelated"

    def _is_ancestor(self, older: str, newer: str) -> bool:
        proc = _run(
            ["git", "-C", str(self.clone_dir), "merge-base", "--is-ancestor", older, newer], 60
        )
        return proc.returncode == 0

    def reachable(self) -> bool:
        try:
            proc = _run(["git", "ls-remote", "--exit-code", self.url, "HEAD"], 30)
        except SourceError:
            return False
        return proc.returncode in (0, 2)

    def watch(self, changed: threading.Event, stop: threading.Event) -> None:
        stop.wait()  # a remote pushes no events: the loop fetches on its interval


def open_source(spec: str, branch: str, path: str, state_dir: Path) -> Source:
    """A local directory when `spec` is one, else a Git URL."""
    local = Path(spec)
    if (
        "://" not in spec
        and not spec.startswith("git@")
        and local.is_dir()
        and not (local / ".git").exists()
        and not spec.endswith(".git")
    ):
        return LocalSource(local / path if path else local)
    return GitSource(spec, branch, path, state_dir)
