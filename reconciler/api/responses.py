"""Response bodies: compact JSON, and the error bodies the reference documents.

401 (and this endpoint's other code-level errors) is `{"Code": N, "Message": "..."}`;
hardware errors are the portal's `{"errors": {"AREA": "..."}}`.
"""

from __future__ import annotations

import json
from typing import Any

JSON = "application/json"
NO_STORE = (b"cache-control", b"no-store")


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def code_message(code: int, message: str) -> bytes:
    return dumps({"Code": code, "Message": message})


def portal_error(area: str, message: str) -> bytes:
    return dumps({"errors": {area: message}})
