"""Azure IoT Hub's MQTT sign-in, done as Microsoft documents it (IoT Hub developer guide,
"Control access to IoT Hub" and "Communicate with an IoT hub using MQTT"): the device
connection string parsed, and the SAS token its shared access key signs. Pure functions:
the clock is the caller's."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

API_VERSION = "2021-04-12"
"""The api-version IoT Hub's MQTT user name carries."""
TOKEN_DAYS = 1
"""A token lasts until the end of the next UTC day: one fresh token (one reconnect) a day."""
DAY_S = 86400


class ConnectionStringError(ValueError):
    """The connection string lacks a part IoT Hub needs; the message never holds the key."""


@dataclass(frozen=True)
class DeviceConnection:
    host: str
    """HostName: <hub>.azure-devices.net."""
    device_id: str
    key: str | None = field(default=None, repr=False)
    """SharedAccessKey (base64); None with X.509 (x509=true)."""

    @property
    def username(self) -> str:
        return f"{self.host}/{self.device_id}/?api-version={API_VERSION}"

    @property
    def resource_uri(self) -> str:
        return f"{self.host}/devices/{self.device_id}"


def parse_connection_string(text: str) -> DeviceConnection:
    """`HostName=..;DeviceId=..;SharedAccessKey=..` or `HostName=..;DeviceId=..;x509=true`."""
    parts: dict[str, str] = {}
    for number, item in enumerate(text.strip().split(";"), 1):
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep:  # not echoed: it may be a piece of the key
            raise ConnectionStringError(f"part {number} is not Name=value")
        parts[name.strip()] = value.strip()
    for needed in ("HostName", "DeviceId"):
        if not parts.get(needed):
            raise ConnectionStringError(f"no {needed}= part (a device connection string has it)")
    x509 = parts.get("x509", "").lower() == "true"
    key = parts.get("SharedAccessKey") or None
    if key is None and not x509:
        raise ConnectionStringError("neither SharedAccessKey= nor x509=true")
    if key is not None:
        try:
            base64.b64decode(key, validate=True)
        except binascii.Error:
            raise ConnectionStringError("SharedAccessKey is not base64") from None
    return DeviceConnection(parts["HostName"], parts["DeviceId"], None if x509 else key)


def sas_token(resource_uri: str, key: str, expiry: int) -> str:
    """`SharedAccessSignature sr=..&sig=..&se=..`: HMAC-SHA256 with the base64-decoded key
    over the url-encoded resource URI, a newline and the expiry (seconds since the epoch)."""
    encoded = quote(resource_uri, safe="")
    signed = f"{encoded}\n{expiry}".encode()
    digest = hmac.new(base64.b64decode(key), signed, hashlib.sha256).digest()
    signature = base64.b64encode(digest).decode()
    return "SharedAccessSignature " + urlencode(
        {"sr": resource_uri, "sig": signature, "se": str(expiry)}, quote_via=quote, safe=""
    )


def token_expiry(now: float) -> int:
    """End of the next UTC day: stable all day, so the settings (and the connection) stay
    unchanged until the token must be renewed."""
    return (int(now) // DAY_S + 1 + TOKEN_DAYS) * DAY_S
