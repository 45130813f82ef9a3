"""Host services the reconciler starts or stops (ssh, telnet, ...)."""

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, WithJsonSchema

ServiceState = Literal["running", "stopped"]

_UNIT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9:_.\\-]*(@[A-Za-z0-9:_.\\-]*)?$")
"""systemd's unit-name characters (systemd.unit(5)) without the `.service` suffix; a
leading '-' (an option to systemctl) or a '/' (a path) can never be a service."""
MAX_UNIT = 248
"""systemd's 256 characters, less `.service`."""


def _service_name(value: str) -> str:
    if not _UNIT.match(value) or len(value) > MAX_UNIT:
        raise ValueError(
            f"invalid service name {value!r}: a systemd unit name without '.service' "
            f"(1-{MAX_UNIT} letters, digits or ':_.-\\', one optional '@instance', "
            "starting with a letter, digit or '_')"
        )
    return value


SERVICE_NAME_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": _UNIT.pattern,
    "maxLength": MAX_UNIT,
}
ServiceName = Annotated[str, AfterValidator(_service_name), WithJsonSchema(SERVICE_NAME_SCHEMA)]
