"""The import contract: arrows point from implementations to contracts, never back.

Read from the source with `ast`, so lazy imports inside functions and TYPE_CHECKING
imports count too. Each rule names the layer, what it must not import, and why."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "reconciler"
MAX_FUNCTION_LINES = 60

# (layer, forbidden prefixes): a module under `layer` never imports one of these.
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("reconciler.spec", ("reconciler.loader", "reconciler.engine", "reconciler.drivers")),
    (
        "reconciler.engine",
        (
            "reconciler.spec",
            "reconciler.loader",
            "reconciler.drivers",
            "reconciler.fleet",
            "reconciler.agent",
            "reconciler.api",
            "reconciler.services",
            "reconciler.cli",
        ),
    ),
    ("reconciler.drivers", ("reconciler.engine.planner", "reconciler.engine.applier")),
    ("reconciler.api", ("reconciler.agent",)),
    ("reconciler.services", ("reconciler.agent", "reconciler.drivers")),
    ("reconciler.areas", ("reconciler",)),
)


def modules() -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path, ast.parse(path.read_text(), str(path))


def imported(tree: ast.Module, module: str) -> Iterator[tuple[int, str]]:
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                )
            yield node.lineno, base.strip(".")


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations() -> list[str]:
    found = []
    for module, path, tree in modules():
        for layer, forbidden in RULES:
            if not _under(module, layer):
                continue
            for line, name in imported(tree, module):
                if any(_under(name, f) for f in forbidden):
                    found.append(
                        f"{path.relative_to(PACKAGE.parent)}:{line}: {module} imports {name}"
                    )
    return found


def test_layers_import_only_downwards() -> None:
    assert violations() == []


def test_services_never_call_a_driver_directly() -> None:
    calls = []
    for module, path, tree in modules():
        if not _under(module, "reconciler.services"):
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "driver"
            ):
                calls.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert calls == []


def own_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """A function's lines less the classes defined inside it (a factory that defines a
    class lazily, to keep a heavy import out of start-up): their methods count alone."""
    lines = (node.end_lineno or node.lineno) - node.lineno + 1
    for inner in ast.walk(node):
        if isinstance(inner, ast.ClassDef):
            lines -= (inner.end_lineno or inner.lineno) - inner.lineno + 1
    return lines


def test_no_function_is_longer_than_the_limit() -> None:
    long = []
    for _, path, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = own_lines(node)
                if lines > MAX_FUNCTION_LINES:
                    where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
                    long.append(f"{where}: {node.name} ({lines} lines)")
    assert long == []


def test_a_long_function_is_seen() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    node = ast.parse(f"def f():\n{body}").body[0]
    assert isinstance(node, ast.FunctionDef) and own_lines(node) == MAX_FUNCTION_LINES + 1


@pytest.mark.parametrize("bad", ["reconciler.engine.planner", "reconciler.agent.status"])
def test_the_checker_sees_a_wrong_way_import(tmp_path: Path, bad: str) -> None:
    tree = ast.parse(f"def f():\n    from {bad} import x\n")
    assert [name for _, name in imported(tree, "reconciler.drivers.x")] == [bad]
