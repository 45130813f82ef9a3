"""Walk model classes by YAML path: which keys are allowed where (for "did you mean")."""

import types
from collections.abc import Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel


def _models_in(annotation: Any) -> list[Any]:
    """Unwrap Optional/Union/Annotated to the concrete types a value may have."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _models_in(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        out: list[Any] = []
        for arg in get_args(annotation):
            out.extend(_models_in(arg))
        return out
    return [annotation]


def _step(annotation: Any, part: str | int) -> list[Any]:
    out: list[Any] = []
    for typ in _models_in(annotation):
        origin = get_origin(typ)
        if isinstance(typ, type) and issubclass(typ, BaseModel):
            for name, info in typ.model_fields.items():
                if part in (info.alias, name):
                    out.append(info.annotation)
        elif origin in (list, tuple) and isinstance(part, int):
            out.extend(get_args(typ)[:1])
        elif origin is dict:
            out.append(get_args(typ)[1])
    return out


def field_names_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The YAML keys accepted by the mapping at `loc` (empty if not a model)."""
    current: list[Any] = [model]
    for part in loc:
        current = [t for ann in current for t in _step(ann, part)]
    names: list[str] = []
    for ann in current:
        for typ in _models_in(ann):
            if isinstance(typ, type) and issubclass(typ, BaseModel):
                names.extend(info.alias or name for name, info in typ.model_fields.items())
    return sorted(set(names))
