"""Managed files: config files, certificates, PLC project files, compared by hash.

Each item names an absolute path and where its content comes from: `content` (inline),
`source` (a file in the fleet repo, relative to the device file; read when the spec is
loaded) or `secretRef` (resolved on the device, never printed). `ensure: absent` removes
the file. Files the reconciler created and that are gone from the spec are pruned.
"""

import posixpath
from collections.abc import Callable, Iterator
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, PrivateAttr, model_validator

from reconciler.spec.base import Loc, SpecModel

DEFAULT_STATE_DIR = "/var/lib/reconciler"
"""The agent's own state (history, secrets memo): never a managed file."""
MAX_CONTENT = 16 * 1024 * 1024
"""Bytes one managed file may hold (inline or from the repo)."""


def _file_path(value: str) -> str:
    """Absolute, normalised, no `..`: the path says exactly which file it is."""
    if not value.startswith("/"):
        raise ValueError(f"{value!r} is not an absolute path (start it with /)")
    if ".." in value.split("/"):
        raise ValueError(f"{value!r} contains '..': name the file directly")
    if "\x00" in value or value.endswith("/") or posixpath.normpath(value) != value:
        raise ValueError(f"{value!r} is not a normalised file path")
    if is_under(value, DEFAULT_STATE_DIR):
        raise ValueError(f"{value!r} is under the reconciler's state dir {DEFAULT_STATE_DIR}")
    return value


def _source_path(value: str) -> str:
    if value.startswith("/") or ".." in value.split("/") or not value.strip():
        raise ValueError(
            f"{value!r}: a source is a file in the fleet repo, relative to the device file, "
            "without '..'"
        )
    return value


def is_under(path: str, directory: str) -> bool:
    directory = directory.rstrip("/") or "/"
    return path == directory or path.startswith(directory + "/")


FilePath = Annotated[str, AfterValidator(_file_path)]
SourcePath = Annotated[str, AfterValidator(_source_path)]


class ManagedFile(SpecModel):
    path: FilePath
    """Absolute path on the device (under --root DIR with the linux backend)."""
    content: str | None = Field(default=None, max_length=MAX_CONTENT)
    """The file's text, inline."""
    source: SourcePath | None = None
    """A file in the fleet repo, relative to the device file (files/line.conf)."""
    secret_ref: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
    """A secret whose value is the content (keys, tokens): compared by hash, never shown."""
    mode: str | None = Field(default=None, pattern=r"^0?[0-7]{3}$")
    """Permission bits in octal, e.g. "0644" (default for a new file: 0644, 0600 for secrets)."""
    owner: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$")
    """User name that owns the file."""
    group: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$")
    """Group name that owns the file."""
    ensure: Literal["present", "absent"] = "present"
    """absent: the file is removed (and must not name content)."""
    _loaded: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_content(self) -> Self:
        given = [k for k, v in self._sources().items() if v is not None]
        if self.ensure == "absent":
            if given or self.mode or self.owner or self.group:
                raise ValueError("an absent file takes only path and ensure")
        elif len(given) != 1:
            raise ValueError(
                "give exactly one of content, source or secretRef"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self

    def _sources(self) -> dict[str, str | None]:
        return {"content": self.content, "source": self.source, "secretRef": self.secret_ref}

    def text(self) -> str | None:
        """The content when it is known without secrets (inline or loaded from `source`)."""
        return self.content if self.content is not None else self._loaded

    def load_source(self, text: str) -> None:
        self._loaded = text


def capability_problems(files: list[ManagedFile], _profile: object) -> Iterator[tuple[Loc, str]]:
    seen: set[str] = set()
    for i, item in enumerate(files):
        if item.path in seen:
            yield (i, "path"), f"duplicate path {item.path!r}"
        seen.add(item.path)


def desired_files(files: list[ManagedFile]) -> list[dict[str, object]]:
    """The planner's view: items named by path, content as text or a secret reference."""
    out: list[dict[str, object]] = []
    for item in files:
        entry: dict[str, object] = {"name": item.path}
        if item.ensure == "absent":
            entry["ensure"] = "absent"
        else:
            content = {"secretRef": item.secret_ref} if item.secret_ref else item.text()
            if content is not None:  # a source not read (spec rebuilt from data): unmanaged
                entry["content"] = content
            for key in ("mode", "owner", "group"):
                value = getattr(item, key)
                if value is not None:
                    entry[key] = value.zfill(4) if key == "mode" else value
        out.append(entry)
    return out


def load_sources(
    files: list[ManagedFile], read: Callable[[str], bytes]
) -> Iterator[tuple[Loc, str]]:
    """Read each `source` through `read` (relative to the device file); problems located at
    the item's `source`. `read` raises OSError or ValueError with a one-sentence reason."""
    for i, item in enumerate(files):
        if item.source is None:
            continue
        try:
            data = read(item.source)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            yield (i, "source"), f"cannot read {item.source!r}: {reason}"
            continue
        if len(data) > MAX_CONTENT:
            yield (i, "source"), f"{item.source!r} is larger than {MAX_CONTENT} bytes"
            continue
        try:
            item.load_source(data.decode("utf-8"))
        except UnicodeDecodeError:
            yield (i, "source"), f"{item.source!r} is not UTF-8 text"
