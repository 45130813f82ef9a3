"""An area's validator built the first time a document declares the area.

A cold `reconcile plan` builds the validator of the whole Device document, and with every
area in it that is most of the start (issue 19). Marking an area's field `Lazy()` gives the
document a plain function there that builds the area's own validator (a TypeAdapter) on its
first use: a document of two areas pays for two. Errors inside keep their locations
(pydantic-core prefixes a ValidationError raised in a validator with the field's place),
dumps go through the area's serializer with the caller's options, and the JSON Schema is the
area's own, so the generated schemas do not change.
"""

import threading
from typing import Any, cast

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, TypeAdapter
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema


class Lazy:
    """`Annotated[T, Lazy()]`: T validated and dumped by its own adapter, built when used."""

    def __init__(self) -> None:
        self._source: Any = None
        self._adapter: TypeAdapter[Any] | None = None
        self._lock = threading.Lock()

    def adapter(self) -> TypeAdapter[Any]:
        with self._lock:
            if self._adapter is None:
                self._adapter = TypeAdapter(self._source)
            return self._adapter

    def _validate(self, value: Any) -> Any:
        return self.adapter().validate_python(value)

    def _serialize(self, value: Any, info: core_schema.SerializationInfo) -> Any:
        return self.adapter().dump_python(
            value,
            mode=cast(Any, info.mode),
            include=cast(Any, info.include),
            exclude=cast(Any, info.exclude),
            by_alias=bool(info.by_alias),
            exclude_unset=info.exclude_unset,
            exclude_defaults=info.exclude_defaults,
            exclude_none=info.exclude_none,
            round_trip=info.round_trip,
        )

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        self._source = source
        return core_schema.no_info_plain_validator_function(
            self._validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                self._serialize, info_arg=True
            ),
        )

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(self.adapter().core_schema)


def lazy_inner(schema: Any) -> CoreSchema | None:
    """The area's own core schema when `schema` is a Lazy field's function (JSON Schema
    generators look through it as through any wrapper)."""
    if not isinstance(schema, dict) or schema.get("type") != "function-plain":
        return None
    owner = getattr(schema.get("function", {}).get("function"), "__self__", None)
    return owner.adapter().core_schema if isinstance(owner, Lazy) else None
