"""Strict booleans and numbers: YAML's `yes`, a quoted `"true"` or `1` is not a boolean,
and `true` is not a number, whatever pydantic's lax mode would coerce. The JSON schema
says the same (`type: boolean`, `type: integer`), so validate and editors agree."""

import functools
import types
from typing import Any, Literal, Union, get_args, get_origin

ScalarKind = Literal["bool", "int", "number"]


@functools.cache
def scalar_kind(annotation: Any) -> ScalarKind | None:
    """ "bool", "int" or "number" for a field typed exactly that (optionally `| None`)."""
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) != 1:
            return None
        annotation = rest[0]
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is float:
        return "number"
    return None


YAML11_BOOLEANS = frozenset({"yes", "no", "on", "off", "y", "n"})


def check_scalar(kind: ScalarKind | None, value: Any) -> Any:
    """`value` if it is a `kind` as YAML wrote it; else ValueError saying what it is."""
    if kind is None or value is None:
        return value
    shown = str(value).lower() if isinstance(value, bool) else repr(value)
    if kind == "bool":
        if not isinstance(value, bool):
            yaml11 = isinstance(value, str) and value.lower() in YAML11_BOOLEANS
            hint = " (a string in YAML 1.2: write true or false)" if yaml11 else ""
            raise ValueError(f"Input should be a valid boolean (true or false), not {shown}{hint}")
    elif isinstance(value, bool) or not isinstance(value, int | float):
        noun = "a valid integer" if kind == "int" else "a valid number"
        raise ValueError(f"Input should be {noun}, not {shown}")
    return value
