"""Shared model base and field types. YAML keys are camelCase; Python attributes snake_case."""

import ipaddress
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from reconciler.spec.strict import ScalarKind, check_scalar, scalar_kind

Loc = tuple[str | int, ...]
"""Where a value sits in a document: keys and list indexes from the root."""


class SpecModel(BaseModel):
    """Strict: unknown keys are errors; only camelCase aliases are accepted in YAML."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
        strict=False,
        # Built on first use: validating a DeviceSpec builds one validator for the whole
        # tree instead of one per model class at import (a plan's start, issue 19).
        defer_build=True,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _strict_scalars(cls, value: Any, info: ValidationInfo) -> Any:
        """No `yes` for a boolean, no `true` for a number (reconciler.spec.strict)."""
        kinds = _SCALAR_KINDS.get(cls)
        if kinds is None:
            kinds = _SCALAR_KINDS[cls] = {
                name: scalar_kind(field.annotation)  # type: ignore[arg-type]
                for name, field in cls.model_fields.items()
            }
        kind = kinds.get(info.field_name or "")
        return value if kind is None else check_scalar(kind, value)


_SCALAR_KINDS: dict[type[SpecModel], dict[str, ScalarKind | None]] = {}
"""Each model's fields by scalar kind, worked out once: this runs for every field read."""


class SecretRef(SpecModel):
    """A secret resolved on the device (secrets dir or environment), never stored in Git."""

    secret_ref: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def _hostname(value: str) -> str:
    """RFC 1123 host name: labels of 1..63 letters, digits, hyphens; no edge hyphens."""
    if len(value) > 253:
        raise ValueError("host name longer than 253 characters")
    for label in value.split("."):
        if not _HOST_LABEL.match(label):
            raise ValueError(
                f"invalid host name label {label!r}: use 1-63 letters, digits or '-', "
                "not starting or ending with '-'"
            )
    return value


def _ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address") from None


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address") from None


def _interface_cidr(value: str) -> str:
    """An address with its prefix length, e.g. 10.0.7.20/24 (host bits allowed)."""
    if "/" not in value:
        raise ValueError(f"{value!r} needs a prefix length, e.g. {value}/24")
    try:
        return str(ipaddress.ip_interface(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an address with prefix length") from None


def _network(value: str) -> str:
    """A network or single address (10.0.0.0/8, 192.168.1.5); host bits must be zero."""
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a network: {exc}") from None


def _host_or_ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return _hostname(value)


_CRON_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_CRON_PART = re.compile(r"^(?:(\*)|(\d{1,2})(?:-(\d{1,2}))?)(?:/(\d{1,2}))?$")


def _plain_cron(value: str) -> bool:
    """Numbers, ranges, steps and lists inside each field's bounds: croniter accepts every
    such expression (tests/spec/test_cron.py), so it is imported only for anything else."""
    fields = value.split()
    if len(fields) != 5:
        return False
    for text, (lo, hi) in zip(fields, _CRON_BOUNDS, strict=True):
        for part in text.split(","):
            m = _CRON_PART.match(part)
            if m is None:
                return False
            star, start, end, step = m.groups()
            if star is None and not lo <= int(start) <= int(end or start) <= hi:
                return False
            if step is not None and (not 1 <= int(step) <= hi or (star is None and end is None)):
                return False
    return True


def _cron(value: str) -> str:
    """Five-field cron expression; croniter (slow to import) checks all but the plain ones."""
    if _plain_cron(value):
        return value
    from croniter import croniter

    if len(value.split()) != 5 or not croniter.is_valid(value):
        raise ValueError(f"{value!r} is not a valid 5-field cron expression")
    return value


Hostname = Annotated[str, AfterValidator(_hostname)]
HostOrIp = Annotated[str, AfterValidator(_host_or_ip)]
IPv4 = Annotated[str, AfterValidator(_ipv4)]
IPAddress = Annotated[str, AfterValidator(_ip)]
InterfaceAddress = Annotated[str, AfterValidator(_interface_cidr)]
Network = Annotated[str, AfterValidator(_network)]
Cron = Annotated[str, AfterValidator(_cron)]
Port = Annotated[int, Field(ge=1, le=65535)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
