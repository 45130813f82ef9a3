"""Regenerate (or check) the README's table of the gateway doc's groups against the spec.

The groups come from the doc itself (its group headers), the spec fields from
scripts/coverage-map.yaml, whether a field exists from schemas/device.schema.json (`make
schema`) and which backends manage it from the area registry (reconciler/areas.py). So
the table cannot miss a group of the doc, name a field the schema lacks, or claim a backend
the registry does not list.

    .venv/bin/python scripts/coverage.py           # check: exit 1 when README.md differs
    .venv/bin/python scripts/coverage.py --write   # rewrite the block in README.md
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from reconciler.areas import BACKENDS, BY_NAME
from reconciler.fsutil import atomic_write

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "tests" / "reference" / "gateway-thingspro-api.txt"
"""The gateway reference doc, copied into the repo (from ../shared/reference/) so a fresh
clone checks the table against it."""
MAP = REPO / "scripts" / "coverage-map.yaml"
SCHEMA = REPO / "schemas" / "device.schema.json"
README = REPO / "README.md"
BEGIN, END = "<!-- coverage:begin -->", "<!-- coverage:end -->"

_FIELDS = re.compile(
    r"^(Authorizations:|path Parameters|query Parameters|header Parameters"
    r"|Request Body schema|Responses$)"
)
"""A line that starts an operation's body: the text before it is its title (and above
that, when a group starts there, the group's header)."""
_VERBS = frozenset((
    "add", "apply", "clear", "control", "create", "delete", "direct", "display", "do",
    "download", "enable", "execute", "export", "get", "import", "modify", "patch", "post",
    "put", "query", "reload", "reported", "reset", "restart", "restore", "returns", "set",
    "setup", "sign", "start", "toggle", "trigger", "update", "upload",
))  # fmt: skip
"""First words of the doc's operation titles; a group header is a name, not an action."""


class CoverageError(Exception):
    """The map and the doc or the schema disagree: one sentence per problem."""


def _text_blocks(text: str) -> Iterator[list[str]]:
    """The lines between one operation's response samples and the next one's fields: a
    title and its description, with a group header first where a group starts."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Download OpenAPI")) + 1
    block: list[str] = []
    state = "text"
    for raw in lines[start:]:
        line = raw.strip()
        if not line:
            continue
        if state == "text" and _FIELDS.match(line):
            yield block
            state = "responses" if line == "Responses" else "fields"
        elif state == "text":
            block.append(line)
        elif state == "fields" and line == "Responses":
            state = "responses"
        elif state == "responses":
            state, block = ("head", block) if line.endswith(" samples") else ("text", [line])
        elif state == "head" and not _sample_heading(line):
            state = "json" if line in ("{", "[") else "responses"
        elif state == "json" and raw in ("}", "]"):
            state = "responses"


def _sample_heading(line: str) -> bool:
    return line in ("Content type", "Example") or re.fullmatch(r"[a-z]+/[\w.+-]+", line) is not None


def _is_title(line: str) -> bool:
    words = line.split()
    return bool(re.match(r"[a-z]+[A-Z]", words[0])) or (
        len(words) > 1 and words[0].lower() in _VERBS
    )


def doc_groups(text: str) -> list[str]:
    """The doc's group headers in order: the line above an operation title, where the title
    is repeated below it (the doc's usual layout) or the line is not itself a title."""
    groups = []
    for block in _text_blocks(text):
        if len(block) < 2 or block[0] == block[1]:
            continue
        if (len(block) > 2 and block[1] == block[2]) or not _is_title(block[0]):
            groups.append(block[0])
    return groups


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """`node` with its $ref followed and a nullable anyOf (`X | None`) unwrapped."""
    while True:
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        elif (
            "anyOf" in node
            and len(real := [n for n in node["anyOf"] if n.get("type") != "null"]) == 1
        ):
            node = real[0]
        else:
            return node


def _children(schema: dict[str, Any], node: dict[str, Any], key: str) -> dict[str, Any] | None:
    node = _resolve(schema, node)
    if key == "*":
        patterns = list((node.get("patternProperties") or {}).values())
        inner = node.get("items") or node.get("additionalProperties") or next(iter(patterns), None)
        return inner if isinstance(inner, dict) else None
    found = (node.get("properties") or {}).get(key)
    if found is None:
        for option in node.get("anyOf") or node.get("oneOf") or []:
            found = _children(schema, option, key)
            if found is not None:
                break
    return found


def schema_has(schema: dict[str, Any], path: str) -> bool:
    """Whether the Device schema declares `spec.PATH` (`*`: any map key or list item)."""
    node: dict[str, Any] | None = schema["properties"]["spec"]
    for key in path.split("."):
        node = _children(schema, node, key) if node is not None else None
    return node is not None


@dataclass(frozen=True)
class Group:
    """One doc group as the map declares it."""

    name: str
    paths: tuple[str, ...] = ()
    gaps: tuple[str, ...] = ()
    unavailable: tuple[tuple[str, str], ...] = ()
    read_only: str | None = None
    note: str | None = None

    @property
    def level(self) -> str:
        if self.read_only is not None:
            return "read-only"
        if not self.paths:
            return "not yet"
        return "partly" if self.gaps else "fully"


_KEYS = {"paths", "gaps", "unavailable", "readOnly", "note"}


def load_map(path: Path) -> list[Group]:
    """The map's entries in file order; an unknown key is an error, not ignored."""
    data = YAML(typ="safe").load(path.read_text()) or {}
    groups = []
    for name, entry in data.items():
        entry = entry or {}
        unknown = sorted(set(entry) - _KEYS)
        if unknown:
            raise CoverageError(
                f"{path.name}: {name}: unknown key {unknown[0]!r} (use {sorted(_KEYS)})"
            )
        groups.append(
            Group(
                name=str(name),
                paths=tuple(entry.get("paths") or ()),
                gaps=tuple(entry.get("gaps") or ()),
                unavailable=tuple((entry.get("unavailable") or {}).items()),
                read_only=entry.get("readOnly"),
                note=entry.get("note"),
            )
        )
    return groups


def problems(groups: list[Group], doc: list[str] | None, schema: dict[str, Any]) -> list[str]:
    """Everything that makes the table wrong: a doc group the map lacks (or one the doc does
    not have, or out of the doc's order), a path the schema lacks, an area or backend the
    registry does not know."""
    found: list[str] = []
    names = [g.name for g in groups]
    if doc is not None:
        found += [f"doc group {g!r} is missing from {MAP.name}" for g in doc if g not in names]
        found += [f"{MAP.name}: {g!r} is no group of the doc" for g in names if g not in doc]
        if not found and names != doc:
            found.append(f"{MAP.name}: list the groups in the doc's order")
    for group in groups:
        for path in group.paths:
            if not schema_has(schema, path):
                found.append(f"{MAP.name}: {group.name}: spec.{path} is not in {SCHEMA.name}")
            elif path.split(".")[0] not in BY_NAME:
                found.append(
                    f"{MAP.name}: {group.name}: {path} is in no area of reconciler/areas.py"
                )
        found += [
            f"{MAP.name}: {group.name}: unknown backend {b!r}"
            for b, _ in group.unavailable
            if b not in BACKENDS
        ]
    return found


def _cell(group: Group, backend: str) -> str:
    """Whether `backend` manages the group's fields, by the area registry."""
    if group.level in ("read-only", "not yet"):
        return "—"
    areas = {p.split(".")[0] for p in group.paths}
    managed = [a for a in areas if a in BY_NAME and backend in BY_NAME[a].backends]
    if not managed:
        return "no"
    if backend in dict(group.unavailable):
        return "limited"
    return "yes" if len(managed) == len(areas) else "some"


def _notes(group: Group) -> str:
    if group.read_only is not None:
        return group.read_only
    notes = [*group.gaps, *(f"{b}: {why}" for b, why in group.unavailable)]
    if group.note:
        notes.append(group.note)
    return "; ".join(notes).replace("|", "\\|")


def summary(groups: list[Group]) -> str:
    counts = {
        level: sum(g.level == level for g in groups) for level in ("fully", "partly", "not yet")
    }
    settings = sum(counts.values())

    def share(level: str) -> str:
        return f"{counts[level]} {level} declarable ({100 * counts[level] / settings:.1f} %)"

    return (
        f"{len(groups)} groups in the gateway doc, {settings} of them hold settings: "
        f"{share('fully')}, {share('partly')}, {share('not yet')}; "
        f"{len(groups) - settings} are read-only or one-shot actions."
    )


def render(groups: list[Group]) -> str:
    """The block between the README's markers."""
    rows = [
        "| Doc group | Spec fields | Declarable | sim | linux | portal | Notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for g in groups:
        fields = ", ".join(f"`{p}`" for p in g.paths) or "—"
        cells = " | ".join(_cell(g, b) for b in BACKENDS)
        rows.append(f"| {g.name} | {fields} | {g.level} | {cells} | {_notes(g)} |")
    generated = (
        "<!-- generated by scripts/coverage_table.py from scripts/coverage-map.yaml, "
        "schemas/device.schema.json and reconciler/areas.py: do not edit by hand -->"
    )
    return "\n".join([generated, "", summary(groups), "", *rows])


def replace_block(readme: str, block: str) -> str:
    """`readme` with the text between the markers replaced by `block`."""
    if BEGIN not in readme or END not in readme:
        raise CoverageError(f"{README.name} has no {BEGIN} ... {END} block")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{block}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the README block")
    parser.add_argument("--doc", type=Path, default=DOC)
    parser.add_argument("--map", type=Path, default=MAP)
    parser.add_argument("--schema", type=Path, default=SCHEMA)
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    try:
        groups = load_map(args.map)
        doc = doc_groups(args.doc.read_text())
        found = problems(groups, doc, json.loads(args.schema.read_text()))
        if found:
            raise CoverageError("\n".join(found))
        readme = args.readme.read_text()
        wanted = replace_block(readme, render(groups))
    except CoverageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summary(groups))
    if wanted == readme:
        return 0
    if args.write:
        atomic_write(args.readme, wanted.encode())
        print(f"wrote {args.readme}")
        return 0
    print(
        f"{args.readme} is out of date: run .venv/bin/python scripts/coverage_table.py --write",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
