"""Settings for the agent itself (not device state): apply policy, health checks after an
apply, and the targets a connectivity change must keep reachable. Never diffed."""

import re
from typing import TYPE_CHECKING, Annotated, Literal, Self

from pydantic import AfterValidator, Field, WithJsonSchema, model_validator

from reconciler.areas import AREA_NAMES
from reconciler.spec.base import Name, SpecModel

Policy = Literal["auto", "report"]
if TYPE_CHECKING:
    Area = str
else:
    Area = Literal[AREA_NAMES]  # the registry's areas, an enum in the schema


_HOST_PORT = re.compile(r"^([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\]):([0-9]{1,5})$")


def _host_port(value: str) -> str:
    match = _HOST_PORT.match(value)
    if match is None or not 1 <= int(match.group(2)) <= 65535:
        raise ValueError(
            f"expected host:port (or [IPv6]:port) with a port within 1..65535, got {value!r}"
        )
    return value


HostPort = Annotated[
    str,
    AfterValidator(_host_port),
    WithJsonSchema({"type": "string", "pattern": _HOST_PORT.pattern}),
]
"""`host:port` or `[v6]:port`, the port within 1..65535."""


class HealthCheck(SpecModel):
    """One check run after every apply; exactly one of command, tcp or http."""

    name: Name
    command: list[str] | None = Field(default=None, min_length=1)
    """Argument vector, run without a shell; healthy when it exits 0."""
    tcp: HostPort | None = None
    """host:port that must accept a TCP connection."""
    http: str | None = Field(default=None, pattern=r"^https?://")
    """URL that must answer 2xx or 3xx."""
    timeout_seconds: float = Field(default=5, gt=0, le=300)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        kinds = [k for k in (self.command, self.tcp, self.http) if k is not None]
        if len(kinds) != 1:
            raise ValueError("a health check needs exactly one of command, tcp or http")
        return self


class ConfirmSpec(SpecModel):
    """Commit-confirmed for the agent: connectivity changes stay only if operators prove
    they still get in (over the new path) within `within` seconds, else they are reverted."""

    within: int = Field(default=120, ge=10, le=3600)
    """Seconds after the change for the confirmation; then the revert guard restores it."""
    via: list[Literal["ssh", "status"]] = Field(default=["ssh", "status"], min_length=1)
    """What confirms: a fresh inbound ssh login, an authenticated status endpoint request."""


class AgentSpec(SpecModel):
    policy: Policy | None = None
    """auto: apply changes; report: plan only (drift is reported, nothing applied)."""
    area_policy: dict[Area, Policy] | None = None
    """Per-area override of `policy`, e.g. {network: report}."""
    health_checks: list[HealthCheck] | None = None
    health_window_seconds: int = Field(default=60, ge=1, le=3600)
    """How long after an apply the checks may take to pass before the agent rolls back."""
    must_reach: list[HostPort] | None = None
    """host:port targets that connectivity changes must not cut (safe apply)."""
    confirm: ConfirmSpec | None = None
    """Commit-confirmed: connectivity changes wait for an inbound login to confirm them."""
