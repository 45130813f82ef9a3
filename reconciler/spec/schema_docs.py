"""Field descriptions for the JSON Schemas, read from attribute docstrings at schema time only.

Models carry their documentation as a docstring under each field. Pydantic's
`use_attribute_docstrings` would re-read and parse every model's source on every start of
the program; this generator reads the source only when `reconcile schema` writes the
schemas, and gives the same result.
"""

import ast
import inspect
import textwrap
from functools import cache
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema


@cache
def _own_docstrings(cls: type[Any]) -> dict[str, str]:
    """`name: type` followed by a string literal, in the class body itself."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    node = ast.parse(source).body[0]
    if not isinstance(node, ast.ClassDef):
        return {}
    docs: dict[str, str] = {}
    for stmt, after in zip(node.body, node.body[1:], strict=False):
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[stmt.target.id] = inspect.cleandoc(after.value.value)
    return docs


def attribute_docstrings(cls: type[Any]) -> dict[str, str]:
    """Field name -> docstring, from the class that last annotates the field (as pydantic
    does: a subclass that re-declares a field without a docstring leaves it undescribed)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        own = inspect.get_annotations(klass)
        klass_docs = _own_docstrings(klass) if own else {}
        for name in own:
            docs.pop(name, None)
            if name in klass_docs:
                docs[name] = klass_docs[name]
    return docs


def _fields_schema(schema: core_schema.CoreSchema) -> dict[str, Any]:
    """The model-fields schema inside a model schema (under any validator wrappers)."""
    node: Any = schema
    while node.get("type") != "model-fields" and "schema" in node:
        node = node["schema"]
    return node.get("fields", {}) if node.get("type") == "model-fields" else {}


class DocstringJsonSchema(GenerateJsonSchema):
    """A JSON Schema generator that describes fields by their attribute docstrings."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        """A lazily built area is titled as its own schema would be (reconciler.spec.lazy)."""
        from reconciler.spec.lazy import lazy_inner

        inner = lazy_inner(schema)
        return super().field_title_should_be_set(schema if inner is None else inner)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._field_docs: dict[int, str] = {}

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        docs = attribute_docstrings(schema["cls"])
        for name, field in _fields_schema(schema["schema"]).items():
            if name in docs:
                self._field_docs[id(field)] = docs[name]
        return super().model_schema(schema)

    def model_field_schema(self, schema: core_schema.ModelField) -> JsonSchemaValue:
        """An explicit `Field(description=...)` is applied after this and still wins."""
        json_schema = super().model_field_schema(schema)
        doc = self._field_docs.get(id(schema))
        return json_schema if doc is None else {**json_schema, "description": doc}
