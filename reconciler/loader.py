"""YAML -> plain data with a position for every key and value, then -> spec models.

A text that parses cleanly takes the fast path (reconciler.fastyaml: libyaml in C; its
positions are worked out from its nodes only when one is asked for). Everything else comes
from the located loader here: we compose YAML nodes ourselves (ruamel.yaml's C parser when
present) instead of using a round-trip loader, and owning the node walk lets us reject
duplicate keys, alias bombs and unsupported tags with the exact line and column.
"""

from __future__ import annotations

import difflib
import functools
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler import fastyaml
from reconciler.fastyaml import Unusual, scalar_value
from reconciler.startup import spec_loading

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

    from reconciler.spec.base import Loc
    from reconciler.spec.device import DeviceSpec

MAX_FILE_BYTES = 1024 * 1024
MAX_NODES = 100_000
MAX_DEPTH = 64

_TAG = "tag:yaml.org,2002:"


@dataclass(frozen=True, order=True)
class Problem:
    """One located problem: printed as `FILE:LINE:COL: dotted.path: message`."""

    file: str
    line: int
    col: int
    path: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        what = f"{self.path}: {self.message}" if self.path else self.message
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{what}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "path": self.path,
            "message": self.message,
            "severity": self.severity,
        }


class SpecError(Exception):
    """Raised with every problem found; nothing downstream runs on invalid input."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Pos:
    """1-based line/column of a key (where the mapping entry starts) and of its value."""

    key_line: int
    key_col: int
    line: int
    col: int


@dataclass
class YamlDocument:
    """Plain data (dict/list/scalars) plus the position of every node by its path."""

    file: str
    data: Any
    positions: Mapping[Loc, Pos] = field(default_factory=dict)

    def position(self, loc: Loc, *, at_key: bool = False) -> tuple[int, int]:
        """Best position for `loc`: the node itself, else its nearest existing ancestor."""
        for end in range(len(loc), -1, -1):
            pos = self.positions.get(loc[:end])
            if pos is not None:
                if at_key or end < len(loc):
                    return pos.key_line, pos.key_col
                return pos.line, pos.col
        return 1, 1

    def problem(self, loc: Loc, message: str, *, at_key: bool = False, **kw: Any) -> Problem:
        line, col = self.position(loc, at_key=at_key)
        return Problem(self.file, line, col, dotted(loc), message, **kw)


def dotted(loc: Iterable[str | int]) -> str:
    return ".".join(str(p) for p in loc)


def _char_at(text: str, line: int, column: int) -> str:
    """The character at a 0-based mark, or '' (the C parser's messages omit it)."""
    lines = text.split("\n")
    if 0 <= line < len(lines) and 0 <= column < len(lines[line]):
        return lines[line][column]
    return ""


def _mark_of(exc: Exception, text: str) -> Any:
    """Where the user must look: the opening of a construct the stream ended inside (an
    unclosed quote or bracket), the offending byte of a reader error, else the parser's
    problem mark."""
    problem, context = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
    if context is not None and "end of stream" in str(getattr(exc, "problem", "")):
        return context
    quote = _runaway_quote(text, problem)
    if quote is not None:
        return quote
    position = getattr(exc, "position", None)
    if problem is None and isinstance(position, int) and 0 <= position <= len(text):
        before = text[:position]
        line = before.count("\n")
        return _Mark(line, position - (before.rfind("\n") + 1))
    return problem or context


@dataclass(frozen=True)
class _Mark:
    line: int
    column: int


def _runaway_quote(text: str, failed_at: Any) -> _Mark | None:
    """The opening of the last quoted string that ran over a line end before the parser
    failed: an unclosed quote swallows lines until the next quote, and the parser only
    complains there. Error path only, so the slow pure-Python scanner is fine."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if failed_at is None:
        return None
    found: _Mark | None = None
    try:
        for token in YAML(typ="safe", pure=True).scan(io.StringIO(text)):
            start, end = token.start_mark, token.end_mark
            if start.line >= failed_at.line:
                break
            if getattr(token, "style", None) in ('"', "'") and end.line > start.line:
                found = _Mark(start.line, start.column)
    except YAMLError:
        pass
    return found


def _yaml_error_problem(file: str, exc: Exception, text: str = "") -> Problem:
    mark = _mark_of(exc, text)
    stopped = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    char = _char_at(text, stopped.line, stopped.column) if stopped is not None else ""
    if char and char != "\t" and "found character that" in str(problem):
        problem = str(problem).replace("found character", f"found character {char!r}", 1)
    message = f"{context}, {problem}" if context and problem else str(problem)
    message = message.replace("\t", "\\t")
    if isinstance(mark, _Mark) and stopped is not None:
        where = f"{stopped.line + 1}:{stopped.column + 1}"
        message = (
            f"unclosed quote: this string runs on to {where}, where the parser stopped ({message})"
        )
    elif "quoted scalar" in message and "end of stream" in message:
        message = f"unclosed quote: this string never ends ({message})"
    if char == "\t" or "'\\t'" in message or "\\t" in message:
        message = "tab character: YAML indentation must use spaces (" + message + ")"
    if mark is None:
        return Problem(file, 1, 1, "", f"invalid YAML: {message}")
    return Problem(file, mark.line + 1, mark.column + 1, "", f"invalid YAML: {message}")


@functools.cache
def _yaml() -> Any:
    """One composer per process: building a YAML() scans ruamel's plug-ins each time."""
    from ruamel.yaml import YAML

    try:
        yaml = YAML(typ="safe", pure=False)
    except Exception:  # pragma: no cover - no C extension on this platform
        yaml = YAML(typ="safe", pure=True)
    yaml.allow_duplicate_keys = True  # we detect them ourselves, with a location
    return yaml


def _compose(text: str) -> Any:
    return list(_yaml().compose_all(io.StringIO(text)))


def _position(node: Any, key_mark: Any) -> Pos:
    """Where a node is: its key (if any) and its value. A block mapping or list under a key
    is located at its key: its own start is its first child on a later line, which is not
    what a problem about it is about."""
    km = key_mark or node.start_mark
    block = node.id != "scalar" and node.start_mark.line != km.line
    vm = km if block else node.start_mark
    return Pos(km.line + 1, km.column + 1, vm.line + 1, vm.column + 1)


class _Builder:
    """Turns composed nodes into plain Python data while recording positions."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: dict[Loc, Pos] = {}
        self.count = 0

    def fail(self, node: Any, message: str, loc: Loc) -> SpecError:
        m = node.start_mark
        return SpecError([Problem(self.file, m.line + 1, m.column + 1, dotted(loc), message)])

    def build(self, node: Any, loc: Loc, key_mark: Any, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(
                node, f"document expands to more than {MAX_NODES} nodes (alias bomb?)", loc
            )
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH} levels", loc)
        kind = node.id
        self.positions[loc] = _position(node, key_mark)
        if kind == "scalar":
            return self.scalar(node, loc)
        if node.tag not in (_TAG + "seq", _TAG + "map"):
            raise self.fail(node, f"unsupported YAML tag {node.tag!r}", loc)
        if kind == "sequence":
            return [
                self.build(child, (*loc, i), None, depth + 1) for i, child in enumerate(node.value)
            ]
        if kind == "mapping":
            return self.mapping(node, loc, depth)
        raise self.fail(node, f"unsupported YAML node {kind!r}", loc)

    def mapping(self, node: Any, loc: Loc, depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        explicit: set[Any] = set()
        as_text: dict[str, Any] = {}
        merges: list[Any] = []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                merges.append(value_node)
                continue
            if key_node.id != "scalar":
                raise self.fail(key_node, "mapping keys must be plain scalars", loc)
            key = self.scalar(key_node, loc)
            if isinstance(key, float | bool) or key is None:
                key = key_node.value
            if key in explicit:
                raise self.fail(key_node, f"duplicate key {key!r}", (*loc, key))
            other = as_text.setdefault(str(key), key)
            if other != key or type(other) is not type(key):
                # 0 and "0" are one key once a model reads it (gpio pins): the last would win.
                message = f"duplicate key {key!r}: the same key as {other!r} above"
                raise self.fail(key_node, message, (*loc, key))
            explicit.add(key)
            out[key] = self.build(value_node, (*loc, key), key_node.start_mark, depth + 1)
        for merge in merges:
            sources = merge.value if merge.id == "sequence" else [merge]
            for src in sources:
                if src.id != "mapping":
                    raise self.fail(src, "a merge key (<<) needs a mapping", loc)
                for key_node, value_node in src.value:
                    key = self.scalar(key_node, loc)
                    if key not in out:
                        out[key] = self.build(
                            value_node, (*loc, key), key_node.start_mark, depth + 1
                        )
        return out

    def scalar(self, node: Any, loc: Loc) -> Any:
        tag: str = node.tag or ""
        if not tag.startswith(_TAG):
            raise self.fail(node, f"unsupported YAML tag {tag!r}", loc)
        try:
            return scalar_value(tag[len(_TAG) :], node.value)
        except Unusual:
            raise self.fail(node, f"unsupported YAML tag {tag!r}", loc) from None


class _LazyPositions(Mapping[tuple[str | int, ...], Pos]):
    """The positions of a document the fast path read, worked out from its nodes the first
    time one is asked for (a valid spec's plan never asks; the fleet's provenance does)."""

    def __init__(self, node: Any) -> None:
        self._node: Any = node
        self._positions: dict[Loc, Pos] = {}

    def _load(self) -> dict[Loc, Pos]:
        if self._node is not None:
            _node_positions(self._node, (), None, self._positions)
            self._node = None  # the nodes are not needed any more
        return self._positions

    def __getitem__(self, loc: Loc) -> Pos:
        return self._load()[loc]

    def __iter__(self) -> Iterator[Loc]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


def _node_positions(node: Any, loc: Loc, key_mark: Any, out: dict[Loc, Pos]) -> None:
    """What _Builder records, for nodes the fast path has already checked and built."""
    out[loc] = _position(node, key_mark)
    if node.id == "sequence":
        for i, child in enumerate(node.value):
            _node_positions(child, (*loc, i), None, out)
    elif node.id == "mapping":
        for key_node, value_node in node.value:
            key = fastyaml.Plain.key(key_node)
            _node_positions(value_node, (*loc, key), key_node.start_mark, out)


def decode(raw: bytes, file: str) -> str:
    """UTF-8 strictly, with the position of the first bad byte."""
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError(
            [Problem(file, 1, 1, "", f"file is larger than {MAX_FILE_BYTES // 1024} KiB")]
        )
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise SpecError([Problem(file, line, 1, "", "binary file (NUL byte), expected YAML")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise SpecError(
            [Problem(file, line, col, "", f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})")]
        ) from None
    return text.removeprefix("\ufeff")


def parse_documents(text: str, file: str) -> list[YamlDocument]:
    """All documents of a YAML stream; raises SpecError with one located problem.

    The fast path (reconciler.fastyaml) reads what parses cleanly, positions on demand;
    anything unusual or wrong is read by the located loader, which words the error."""
    try:
        with fastyaml.gc_paused():
            nodes = fastyaml.compose(text)
            data = [fastyaml.Plain(MAX_NODES, MAX_DEPTH).build(node) for node in nodes]
    except fastyaml.Unusual:
        return _located_documents(text, file)
    except fastyaml.TooDeep as deep:
        message = f"nesting deeper than {MAX_DEPTH} levels"
        raise SpecError([Problem(file, deep.line + 1, deep.column + 1, "", message)]) from None
    return [YamlDocument(file, d, _LazyPositions(n)) for n, d in zip(nodes, data, strict=True)]


def _located_documents(text: str, file: str) -> list[YamlDocument]:
    """Every node with its position (ruamel.yaml): errors at their line and column."""
    from ruamel.yaml.error import YAMLError

    try:
        nodes = _compose(text)
    except YAMLError as exc:
        raise SpecError([_yaml_error_problem(file, exc, text)]) from None
    docs = []
    for node in nodes:
        builder = _Builder(file)
        data = builder.build(node, (), None, 0)
        docs.append(YamlDocument(file, data, builder.positions))
    return docs


def parse_document(text: str, file: str) -> YamlDocument:
    """Exactly one mapping document."""
    docs = [d for d in parse_documents(text, file) if d.data is not None]
    if not docs:
        raise SpecError([Problem(file, 1, 1, "", "file is empty: expected a YAML mapping")])
    if len(docs) > 1:
        line = docs[1].positions[()].line
        raise SpecError(
            [Problem(file, line, 1, "", "expected one YAML document, found several (---)")]
        )
    doc = docs[0]
    if not isinstance(doc.data, dict):
        kind = "a list" if isinstance(doc.data, list) else "a scalar"
        raise SpecError([doc.problem((), f"expected a mapping at top level, found {kind}")])
    return doc


def read_document(path: str | Path, display: str | None = None) -> YamlDocument:
    name = display if display is not None else str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SpecError([Problem(name, 1, 1, "", f"cannot read file: {exc.strerror}")]) from None
    return parse_document(decode(raw, name), name)


# --- pydantic errors -> located problems -------------------------------------------------


def _data_loc(data: Any, loc: Sequence[str | int]) -> Loc:
    """Keep the loc elements that name real data; drop pydantic's union/validator tags."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if part == "[key]":  # pydantic's marker for an invalid mapping key: the key is last
            break
        if isinstance(node, dict):
            key: Any = part
            if key not in node and isinstance(part, str) and part.isdigit():
                key = int(part)
            if key in node:
                out.append(key)
                node = node[key]
                continue
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
            continue
        elif isinstance(part, str) and (part.startswith(("function-", "tagged-")) or "[" in part):
            continue
        # A key that is not in the data (missing or unknown field): keep it and stop.
        if isinstance(node, dict):
            out.append(part)
        break
    return tuple(out)


def _message(err: Mapping[str, Any]) -> str:
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def validation_problems(
    exc: ValidationError, doc: YamlDocument, model: type[BaseModel], base: Loc = ()
) -> list[Problem]:
    """Map every pydantic error to the YAML position of the key or value it is about."""
    from reconciler.spec.introspect import field_names_at

    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = _data_loc(_get(doc.data, base), err["loc"])
        full = (*base, *loc)
        etype = err["type"]
        if etype == "extra_forbidden":
            allowed = field_names_at(model, loc[:-1])
            name = str(loc[-1]) if loc else ""
            msg = f"unknown field {name!r}"
            close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
            if close:
                msg += f"; did you mean {close[0]!r}?"
            elif allowed:
                msg += f" (allowed: {', '.join(sorted(allowed))})"
            problems.append(doc.problem(full, msg, at_key=True))
        elif etype == "missing":
            problems.append(doc.problem(full, "required field is missing", at_key=True))
        else:
            on_key = "[key]" in err["loc"]
            problems.append(doc.problem(full, _message(err), at_key=on_key))
    return problems


def _get(data: Any, loc: Loc) -> Any:
    for part in loc:
        data = data[part]
    return data


def iter_yaml_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files as given, directories recursively (*.yaml, *.yml), sorted for stable output."""
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = [*path.rglob("*.yaml"), *path.rglob("*.yml")]
            yield from sorted(f for f in found if f.is_file())
        else:
            yield path


def validate_device_document(doc: YamlDocument) -> tuple[DeviceSpec | None, list[Problem]]:
    """Schema validation, then capability checks against the model's hardware profile."""
    with spec_loading():  # the first imports pydantic and builds the models: see startup
        from pydantic import ValidationError

        from reconciler.spec.capabilities import capability_problems
        from reconciler.spec.device import DeviceSpec

        try:
            spec = DeviceSpec.model_validate(doc.data)
        except ValidationError as exc:
            return None, _with_partial_checks(doc, exc)
    problems = [doc.problem(loc, msg) for loc, msg in capability_problems(spec)]
    if spec.spec.files and not problems:
        from reconciler.spec.files import load_sources

        base = Path(doc.file).parent
        found = load_sources(spec.spec.files, lambda rel: (base / rel).read_bytes())
        problems = [doc.problem(("spec", "files", *loc), msg) for loc, msg in found]
    return (spec if not problems else None), problems


def _with_partial_checks(doc: YamlDocument, exc: ValidationError) -> list[Problem]:
    """Schema problems, plus the capability and cross-field problems of what did parse."""
    from reconciler.salvage import salvage, under
    from reconciler.spec.capabilities import capability_problems
    from reconciler.spec.device import DeviceSpec

    problems = validation_problems(exc, doc, DeviceSpec)
    partial, cuts, later = salvage(doc.data, exc, _data_loc)
    problems += [doc.problem(loc, msg) for loc, msg in later]
    if partial is not None:
        found = capability_problems(partial)
        problems += [doc.problem(loc, msg) for loc, msg in found if not under(loc, cuts)]
    return sorted(problems, key=lambda p: (p.line, p.col))


def load_device(path: str | Path) -> DeviceSpec:
    """Read and validate one Device file; raise SpecError with every problem."""
    doc = read_document(path)
    spec, problems = validate_device_document(doc)
    if spec is None:
        raise SpecError(problems)
    return spec
