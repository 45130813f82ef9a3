"""The OpenAPI 3.1 document of the status endpoint, built from the route table.

Served at /openapi.json and committed as schemas/openapi/status-api.json (a test fails
when the two differ, another runs openapi-spec-validator on it). `reconcile schema --out
schemas/` (`make schema`) regenerates it with the JSON Schemas; it sits in a subdirectory
because every schemas/*.json is a JSON Schema.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from reconciler import __version__
from reconciler.api.routes import OPERATIONS, Operation
from reconciler.api.schemas import COMPONENTS, ref

ERRORS = {
    400: ("Bad parameter", ["PortalError", "CodeMessage"]),
    401: ("No valid token, or login failed", ["CodeMessage"]),
    404: ("Not supported, or no available data", ["PortalError", "CodeMessage"]),
    405: ("Read-only: write methods are not allowed", ["CodeMessage"]),
    422: ("The device could not be read, or the plan failed", ["PortalError", "CodeMessage"]),
}

PARAMETERS: dict[str, dict[str, Any]] = {
    "m": {
        "name": "m",
        "in": "query",
        "required": False,
        "description": "Account type: 0 OS account (default), 2 admin account.",
        "schema": {"type": "integer", "enum": [0, 2]},
    },
    "limit": {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "Records to return, newest first (1..1000, default 50).",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
    },
}

PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "id": {
        "description": "0-based index; 400 when this model has no such index.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "name": {"description": "Service name.", "schema": {"type": "string"}},
    "uuid": {"description": "The Wi-Fi interface's name (its uuid).", "schema": {"type": "string"}},
}

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "cookie": {"type": "apiKey", "in": "cookie", "name": "jwt"},
    "basic": {"type": "http", "scheme": "basic"},
}


EVENTS = {
    "diskdrives": "DiskList",
    "hwmon": "Hwmon",
    "netifaces": "InterfaceList",
    "processes": "ProcessList",
    "pwrstatus": "RedundantPower",
    "systemperf": "SystemPerf",
}
"""/platform/api/events: event type -> the schema of its JSON data (no snmptrap: this
endpoint receives no SNMP traps)."""


def _event(types: list[str], data: dict[str, Any]) -> dict[str, Any]:
    """One Server-Sent Event (OpenAPI 3.1: the stream's schema describes each event)."""
    return {
        "type": "object",
        "properties": {
            "event": {"type": "string", "enum": types},
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": data,
            },
        },
        "required": ["event", "data"],
    }


def _error(code: int) -> dict[str, Any]:
    text, schemas = ERRORS[code]
    schema = ref(schemas[0]) if len(schemas) == 1 else {"oneOf": [ref(s) for s in schemas]}
    return {"description": text, "content": {"application/json": {"schema": schema}}}


def _ok(op: Operation) -> dict[str, Any]:
    content: dict[str, Any]
    if op.schema is not None:
        content = {"application/json": {"schema": ref(op.schema)}}
    elif op.media.startswith("application/json"):
        content = {"application/json": {"schema": {"type": "object"}}}
    elif op.media == "text/event-stream":
        content = {op.media: {"schema": _event(list(EVENTS), {"type": ["object", "array"]})}}
    else:
        content = {op.media: {"schema": {"type": "string"}}}
    description = "OK"
    if op.sse and op.schema is not None:
        content["text/event-stream"] = {"schema": _event(["message"], ref(op.schema))}
        # A Media Type Object has no `description` (OpenAPI 3.1): the response says it.
        description = (
            "OK. With `Accept: text/event-stream`: `event: message` frames whose data is "
            "the JSON body, every few seconds."
        )
    if op.ok == 204:
        return {"description": "Yes (no content)."}
    ok: dict[str, Any] = {"description": description, "content": content}
    if op.handler in ("token", "login"):
        ok["headers"] = {
            "Set-Cookie": {
                "description": "jwt=TOKEN; HttpOnly; SameSite=strict (Secure over TLS)",
                "schema": {"type": "string"},
            }
        }
    return ok


def _operation(op: Operation) -> dict[str, Any]:
    path_params = [
        {"name": part[1:-1], "in": "path", "required": True, **PATH_PARAMETERS[part[1:-1]]}
        for part in op.path.split("/")
        if part.startswith("{")
    ]
    out: dict[str, Any] = {
        "operationId": f"{op.method.lower()}_{op.handler}_{op.tag}",
        "summary": op.summary,
        "tags": [op.tag],
        "responses": {str(op.ok): _ok(op), "401": _error(401)},
    }
    if op.empty:
        out["responses"]["204"] = {"description": "Not supported, or no available data."}
    if op.public and op.handler not in ("token", "login"):
        del out["responses"]["401"]
    for code in op.errors:
        out["responses"][str(code)] = _error(code)
    params = path_params + [PARAMETERS[q] for q in op.query]
    if params:
        out["parameters"] = params
    if op.handler == "token":
        out["security"] = [{"basic": []}]
    elif op.handler == "metrics":
        out["security"] = [{"bearer": []}, {"cookie": []}, {"basic": []}]
        out["description"] = (
            "Also HTTP Basic of an account whose role grants `metrics:read` (for a static "
            "Prometheus `basic_auth`). `--metrics-public HOST:PORT` serves it without auth "
            "on an address of its own."
        )
    elif op.public:
        out["security"] = []
    if op.handler == "login":
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref("Login")}},
        }
    return out


@functools.cache
def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "reconciler status endpoint",
            "version": __version__,
            "description": (
                "Read-only. The platform portal's documented read APIs (hardware monitor, "
                "peripherals, networking, processes, services, EdgeHub), the reconciler's "
                "sync status, history and plan, and Prometheus metrics. Every route but "
                "ping, version, agentinfo and the login routes needs a JWT from /auth/token "
                "(HTTP Basic) or /auth/login, sent as `Authorization: Bearer`, as the `jwt` "
                "cookie, or (event streams only) as `?token=`. Write methods answer 405."
            ),
        },
        "servers": [{"url": "http://127.0.0.1:9100"}],
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": paths,
        "components": {"schemas": COMPONENTS, "securitySchemes": SECURITY_SCHEMES},
    }


def document_text() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


@functools.cache
def document_bytes() -> bytes:
    return json.dumps(document(), separators=(",", ":")).encode()
