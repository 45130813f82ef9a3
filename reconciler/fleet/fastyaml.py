"""Composing fleet files faster: the loader's YAML, with the resolver's version fixed.

A loader hook (reconciler.loader is another module's job): with the C parser, ruamel's
VersionedResolver looks the YAML version up on every scalar through three failing attribute
lookups (it is always 1.2 there, `%YAML` directives included) and `compose_all` defines a
loader class per document. Here one class, version 1.2, and a plain scalar's tag resolved
once per process: about half the composing time of a device file. The nodes are built by
the loader's own builder, so data and positions are the loader's; anything other than one
mapping document, errors included, goes through `loader.parse_document` for its exact
problem.
"""

from __future__ import annotations

import functools
from typing import Any

from reconciler.loader import YamlDocument, _Builder, parse_document

_MEMO_LIMIT = 4096
"""Plain scalars whose tag is remembered: the repeated ones (keys, enums); names and
addresses differ per device and would only grow the memo."""


@functools.cache
def _loader_class() -> Any:
    """CParser + a resolver pinned to YAML 1.2; None when ruamel has no C extension."""
    try:
        from _ruamel_yaml import CParser
    except ImportError:  # pragma: no cover - pure-Python ruamel: the loader's own path
        return None
    from ruamel.yaml.nodes import ScalarNode
    from ruamel.yaml.resolver import VersionedResolver

    memo: dict[tuple[str, Any], Any] = {}

    class PinnedResolver(VersionedResolver):
        @property
        def processing_version(self) -> Any:
            return (1, 2)

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            if kind is not ScalarNode:
                return super().resolve(kind, value, implicit)
            key = (value, implicit)
            tag = memo.get(key)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(memo) < _MEMO_LIMIT:
                    memo[key] = tag
            return tag

    class Loader(CParser, PinnedResolver):  # type: ignore[misc]
        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            PinnedResolver.__init__(self, loadumper=self)

    return Loader


def _single_mapping(text: str) -> Any:
    """The node of the stream's only document if it is a mapping; None otherwise."""
    loader_class = _loader_class()
    if loader_class is None:
        return None
    loader = loader_class(text)
    try:
        nodes = []
        while loader.check_node():
            nodes.append(loader.get_node())
            if len(nodes) > 1:
                return None
    except Exception:  # the loader's path reports every YAML error, located
        return None
    finally:
        loader.dispose()
    if len(nodes) != 1 or nodes[0].id != "mapping":
        return None
    return nodes[0]


def parse_mapping(text: str, file: str) -> YamlDocument:
    """`loader.parse_document(text, file)`, faster: same data, positions and problems."""
    node = _single_mapping(text)
    if node is None:
        return parse_document(text, file)
    builder = _Builder(file)
    data = builder.build(node, (), None, 0)
    return YamlDocument(file, data, builder.positions)
