"""JSON Schemas generated from the models, for editors (yaml-language-server) and CI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def device_schema() -> dict[str, Any]:
    from reconciler.spec.device import DeviceSpec
    from reconciler.spec.schema_docs import DocstringJsonSchema

    schema = DeviceSpec.model_json_schema(
        by_alias=True, mode="validation", schema_generator=DocstringJsonSchema
    )
    return {"$schema": SCHEMA_DRAFT, "title": "reconciler Device", **schema}


def schemas() -> dict[str, dict[str, Any]]:
    """File name -> schema, for every document kind."""
    out = {"device.schema.json": device_schema()}
    from reconciler.fleet.documents import layer_schemas
    from reconciler.services.mqtt.messages import message_schema

    out.update(layer_schemas())
    out["mqtt-messages.schema.json"] = message_schema()
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


OPENAPI_FILE = "openapi/status-api.json"
"""The status endpoint's OpenAPI document, beside the schemas (same `--out`)."""


def documents() -> dict[str, str]:
    """Relative path -> text of everything `reconcile schema --out DIR` writes."""
    from reconciler.api.openapi import document_text

    out = {name: render(schema) for name, schema in schemas().items()}
    out[OPENAPI_FILE] = document_text()
    return out


def write_schemas(out_dir: Path) -> list[Path]:
    from reconciler.fsutil import atomic_write

    written = []
    for name, text in documents().items():
        path = out_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, text.encode())
        written.append(path)
    return written
