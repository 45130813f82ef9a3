"""Pure parser for `smartctl -j -a DEVICE`: identity, health and attributes, in the
portal's disk shape."""

from __future__ import annotations

from typing import Any


def smart(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "model": data.get("model_name", ""),
        "serialNumber": data.get("serial_number", ""),
        "firmwareRevision": data.get("firmware_version", ""),
    }
    status = data.get("smart_status")
    if isinstance(status, dict) and "passed" in status:
        out["smartPassed"] = bool(status["passed"])
    temp = data.get("temperature", {}).get("current")
    if temp is not None:
        out["temperatureCelsius"] = temp
    attrs = data.get("ata_smart_attributes", {}).get("table", [])
    out["smartAttributes"] = [
        {
            "id": a.get("id"),
            "name": a.get("name", ""),
            "statusFlags": a.get("flags", {}).get("value", 0),
            "value": a.get("value"),
            "worst": a.get("worst"),
            "threshold": a.get("thresh"),
            "rawData": raw_data(a.get("raw", {}).get("value")),
        }
        for a in attrs
    ]
    return out


def raw_data(value: Any) -> list[int]:
    """An attribute's 48-bit raw value as the six bytes the portal shows (`rawData`, least
    significant first: 9846 power-on hours are [118, 38, 0, 0, 0, 0])."""
    number = value if isinstance(value, int) and 0 <= value < 1 << 48 else 0
    return list(number.to_bytes(6, "little"))
