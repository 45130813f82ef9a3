"""The root document: apiVersion/kind/metadata/spec, with one field per area."""

from typing import Annotated, Literal

from pydantic import Field, field_validator

from reconciler.spec.access import AccessSpec
from reconciler.spec.agent import AgentSpec
from reconciler.spec.base import SpecModel
from reconciler.spec.cloud import CloudSpec
from reconciler.spec.connection import Connection
from reconciler.spec.edge import EdgeSpec
from reconciler.spec.files import ManagedFile
from reconciler.spec.firewall import FirewallSpec
from reconciler.spec.gpio import GpioSpec
from reconciler.spec.gps import GpsSpec
from reconciler.spec.io import IoSpec
from reconciler.spec.lazy import Lazy
from reconciler.spec.leds import LedState
from reconciler.spec.modbus import ModbusSpec
from reconciler.spec.network import NetworkSpec
from reconciler.spec.operations import Operation
from reconciler.spec.rollout import RolloutSpec
from reconciler.spec.serial import SerialSpec
from reconciler.spec.services import SERVICE_NAME_SCHEMA, ServiceName, ServiceState
from reconciler.spec.system import SystemSpec
from reconciler.spec.update import UpdateSpec
from reconciler.spec.vpn import VpnSpec
from reconciler.spec.watchdog import WatchdogSpec

API_VERSION = "reconciler/v1"

LABEL_KEY = r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$"
LABEL_VALUE = r"^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$"
DEVICE_NAME = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"


class Metadata(SpecModel):
    name: str = Field(pattern=DEVICE_NAME)
    """Device name: lower-case letters, digits and '-', 1..63 characters (a DNS label)."""
    model: str
    """Hardware model; selects the hardware profile (see `reconcile validate --help`)."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Labels that fleet groups select on (site, role, ...)."""
    connection: Connection | None = None
    """How a management host reaches the device (agentless `--all` runs)."""

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        from reconciler.profiles import PROFILES

        if value not in PROFILES:
            raise ValueError(
                f"unknown model {value!r}; known models: {', '.join(sorted(PROFILES))}"
            )
        return value

    @field_validator("labels")
    @classmethod
    def _label_syntax(cls, value: dict[str, str]) -> dict[str, str]:
        import re

        for key, val in value.items():
            if not re.match(LABEL_KEY, str(key)):
                raise ValueError(f"invalid label key {key!r}")
            if not isinstance(val, str) or not re.match(LABEL_VALUE, val):
                raise ValueError(f"invalid value {val!r} for label {key!r}")
        return value


class Spec(SpecModel):
    """Desired state by area. Only what is written is managed."""

    system: Annotated[SystemSpec | None, Lazy()] = None
    network: Annotated[NetworkSpec | None, Lazy()] = None
    firewall: Annotated[FirewallSpec | None, Lazy()] = None
    access: Annotated[AccessSpec | None, Lazy()] = None
    watchdog: Annotated[WatchdogSpec | None, Lazy()] = None
    gpio: Annotated[GpioSpec | None, Lazy()] = None
    leds: dict[int, LedState] | None = None
    """LED states by index (platform portal: /platform/api/perif/led)."""
    brightness: int | None = Field(default=None, ge=0, le=255)
    """Display brightness; the model's profile bounds it (UNO-2484G: 0..9)."""
    io: Annotated[IoSpec | None, Lazy()] = None
    serial: Annotated[SerialSpec | None, Lazy()] = None
    modbus: Annotated[ModbusSpec | None, Lazy()] = None
    cloud: Annotated[CloudSpec | None, Lazy()] = None
    update: Annotated[UpdateSpec | None, Lazy()] = None
    gps: Annotated[GpsSpec | None, Lazy()] = None
    """GPS receiver mode and manual position, on models with a receiver."""
    vpn: Annotated[VpnSpec | None, Lazy()] = None
    """VPN clients (OpenVPN profiles by secretRef)."""
    edge: Annotated[EdgeSpec | None, Lazy()] = None
    """The gateway's app platform: edge functions, Azure IoT Edge, service accounts."""
    services: dict[ServiceName, ServiceState] | None = Field(
        default=None, json_schema_extra={"propertyNames": SERVICE_NAME_SCHEMA}
    )
    """Host services by name: running or stopped."""
    files: Annotated[list[ManagedFile] | None, Lazy()] = None
    """Managed files by path: content inline, from the fleet repo or a secret; hashed."""
    operations: Annotated[list[Operation] | None, Lazy()] = None
    """One-shot operations (reboot, shutdown, blink, restartService, command): each runs at
    most once per device per name, recorded on the device and in history."""
    agent: Annotated[AgentSpec | None, Lazy()] = None
    """How the agent treats this device (policy, health checks); not device state."""
    rollout: Annotated[RolloutSpec | None, Lazy()] = None
    """Rollout waves: when this device may take a new commit; not device state."""


NOT_DEVICE_STATE = frozenset({"agent", "rollout"})
"""Spec sections that configure the reconciler itself and are never diffed."""


class DeviceSpec(SpecModel):
    api_version: Literal["reconciler/v1"]
    kind: Literal["Device"]
    metadata: Metadata
    spec: Spec = Field(default_factory=Spec)
