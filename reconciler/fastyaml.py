"""The fast path of the YAML loader: libyaml composes in C, we build plain data, no
positions.

A spec is read on every start of the program and almost always parses; the located
loader (reconciler.loader) spends most of its time on what only a problem needs: a
position for every node and ruamel's pure-Python composition. This path uses PyYAML's C
composer with a YAML 1.2 resolver of our own (ruamel's rules: `yes` is a string, `0o17`
an octal), builds the same plain data, and gives up (`Unusual`) on anything the located
loader would reject or treat specially (a syntax error, a duplicate key, a merge key, a
tag, a directive, an alias bomb), so that loader reports it with its exact line and
column. Positions are worked out from the nodes (libyaml's marks, as the located loader's)
only when one is asked for.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import re
from collections.abc import Callable, Iterator
from typing import Any

_TAG = "tag:yaml.org,2002:"
STR, SEQ, MAP = _TAG + "str", _TAG + "seq", _TAG + "map"

# YAML 1.2 implicit resolvers, in ruamel.yaml's order (ruamel.yaml.resolver, version 1.2);
# tests/test_fastyaml.py checks them against ruamel scalar by scalar.
_IMPLICIT: tuple[tuple[str, str, str], ...] = (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (
        "float",
        r"""^(?:
         [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        "-+0123456789.",
    ),
    (
        "int",
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$""",
        "-+0123456789",
    ),
    ("merge", r"^(?:<<)$", "<"),
    ("null", r"^(?: ~ |null|Null|NULL | )$", "~nN"),
    (
        "timestamp",
        r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
        "0123456789",
    ),
    ("value", r"^(?:=)$", "="),
)


def _by_first_char() -> dict[str, tuple[tuple[str, re.Pattern[str]], ...]]:
    table: dict[str, list[tuple[str, re.Pattern[str]]]] = {"": [(_TAG + "null", re.compile(""))]}
    for kind, pattern, first in _IMPLICIT:
        compiled = re.compile(pattern, re.X)
        for ch in first:
            table.setdefault(ch, []).append((_TAG + kind, compiled))
    return {ch: tuple(rules) for ch, rules in table.items()}


_RESOLVERS = _by_first_char()


class Unusual(Exception):
    """Not for the fast path: the located loader reads this text (and reports any error)."""


class TooDeep(Exception):
    """Nested past libyaml's limit (1,000 levels) at a 0-based line and column: reported
    as is, for the located loader's C composer would overflow the stack on it."""

    def __init__(self, line: int, column: int) -> None:
        super().__init__(f"too deep at {line}:{column}")
        self.line, self.column = line, column


def scalar_value(kind: str, value: str) -> Any:
    """A core-schema scalar as Python data; `Unusual` for a tag outside it. Shared with
    the located loader, so both paths read a scalar alike."""
    if kind == "str" or kind == "timestamp" or kind == "binary":
        return value
    if kind == "null":
        return None
    if kind == "bool":
        return value.lower() in ("true", "yes", "on", "y")
    if kind == "int":
        text = value.replace("_", "")
        try:
            if text.lower().startswith(("0x", "-0x", "+0x")):
                return int(text, 16)
            if text.lower().startswith(("0o", "-0o", "+0o")):
                return int(text, 8)
            return int(text)
        except ValueError:
            return value
    if kind == "float":
        text = value.replace("_", "").lower()
        if text in (".inf", "+.inf"):
            return float("inf")
        if text == "-.inf":
            return float("-inf")
        if text == ".nan":
            return float("nan")
        try:
            return float(text)
        except ValueError:
            return value
    raise Unusual(kind)


@functools.cache
def _composer() -> Callable[[str], list[Any]] | None:
    """PyYAML's C composer with our resolver; None without libyaml (then the located
    loader reads everything)."""
    try:
        from yaml import _yaml
        from yaml.nodes import MappingNode, ScalarNode
    except ImportError:  # pragma: no cover - PyYAML built without libyaml
        return None

    class Composer(_yaml.CParser):  # type: ignore[misc]
        def descend_resolver(self, *_: Any) -> None:
            return None

        def ascend_resolver(self, *_: Any) -> None:
            return None

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is ScalarNode:  # YAML 1.2: only a plain scalar is resolved
                if implicit[0]:
                    for tag, regexp in _RESOLVERS.get(value[:1], ()):
                        if regexp.match(value):
                            return tag
                return STR
            return MAP if kind is MappingNode else SEQ

    def compose(text: str) -> list[Any]:
        parser = Composer(text)
        try:
            nodes = []
            while parser.check_node():
                nodes.append(parser.get_node())
            return nodes
        finally:
            parser.dispose()

    return compose


def compose(text: str) -> list[Any]:
    """Nodes of every document; `Unusual` for what the located loader must read, `TooDeep`
    for what no loader may read."""
    composer = _composer()
    if composer is None or text.startswith("%") or "\n%" in text:
        raise Unusual("directive")  # a %YAML 1.1 document resolves differently
    try:
        return composer(text)
    except Exception as exc:  # any error: the located loader words it
        mark = getattr(exc, "problem_mark", None)
        if mark is not None and "maximum nesting depth" in str(getattr(exc, "problem", "")):
            raise TooDeep(mark.line, mark.column) from None
        raise Unusual(str(exc)) from None


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a document is read (or first validated): its
    nodes and data are acyclic, tens of thousands of them, and each collection would
    re-walk them all (the cost per item doubled from 1,000 to 4,000 items)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Plain:
    """Composed nodes -> plain data, with the located loader's limits and checks."""

    def __init__(self, max_nodes: int, max_depth: int) -> None:
        self.left = max_nodes
        self.max_depth = max_depth

    def build(self, node: Any, depth: int = 0, flow: bool = False) -> Any:
        self.left -= 1
        if self.left < 0 or depth > self.max_depth:
            raise Unusual("limits")
        tag = node.tag
        kind = node.id
        if kind == "scalar":
            return self.scalar(node, flow)
        flow = flow or bool(node.flow_style)
        if kind == "sequence" and tag == SEQ:
            return [self.build(child, depth + 1, flow) for child in node.value]
        if kind == "mapping" and tag == MAP:
            return self.mapping(node, depth, flow)
        raise Unusual(tag)

    @staticmethod
    def scalar(node: Any, flow: bool) -> Any:
        value, tag = node.value, node.tag
        if flow and not node.style and (":" in value or "?" in value):
            # libyaml 0.2.5 (PyYAML) takes `[12:30]`; ruamel's older libyaml refuses it
            raise Unusual("colon or question mark in a plain scalar in a flow collection")
        if tag == STR:
            return value
        if not tag.startswith(_TAG):
            raise Unusual(tag)
        return scalar_value(tag[18:], value)  # a merge key's tag: Unusual

    @staticmethod
    def key(node: Any) -> Any:
        """A mapping key as the data holds it: a float, boolean or null key as written."""
        key = scalar_value(node.tag[18:], node.value) if node.tag != STR else node.value
        return node.value if isinstance(key, float | bool) or key is None else key

    def mapping(self, node: Any, depth: int, flow: bool) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        as_text: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.id != "scalar":
                raise Unusual("key")
            self.scalar(key_node, flow)  # the checks a value gets
            key = self.key(key_node)
            text = str(key)
            if text in as_text:
                raise Unusual("duplicate key")
            as_text.add(text)
            out[key] = self.build(value_node, depth + 1, flow)
        return out
