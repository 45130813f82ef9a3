"""The gateway's app platform: edge functions, Azure IoT Edge and service accounts
(gateway doc: the function, azure iotedge and services groups).

These are services of the gateway's own software; a Debian host has none of them, so the
linux backend reports the area unavailable. Where the doc leaves an object's fields
unstated (a function's trigger/executable/expose, an account's add-on permissions, the
IoT Edge runtime objects) the spec does not invent them.
"""

from collections.abc import Iterator

from pydantic import Field

from reconciler.profiles import HardwareProfile
from reconciler.spec.base import Loc, SecretRef, SpecModel

Scalar = str | int | float | bool


class EdgeFunction(SpecModel):
    """A user function (doc: PUT /function, which creates a missing one). The doc's
    trigger, executable and expose objects are left out: the doc does not state their
    fields, and the function's code comes in an uploaded package."""

    name: str = Field(pattern=r"^[A-Za-z0-9-]{1,255}$")
    """ASCII letters, digits or '-', 1..255 characters."""
    enabled: bool | None = None
    """Run the function."""
    params: dict[str, Scalar] | None = None
    """Parameters handed to the function."""


class AzureProvisioning(SpecModel):
    connection_string: SecretRef
    """The device's IoT Hub connection string (manual provisioning), by secretRef: it
    holds the shared access key."""


class AzureIotEdge(SpecModel):
    """The Azure IoT Edge runtime (doc: PUT /azure-iotedge and its certificate import).
    The doc's two further runtime objects are left out (their fields are not stated);
    the uploaded certificate files are secretRefs, never in Git."""

    edge_agent_uri: str | None = Field(
        default=None, alias="edgeAgentURI", min_length=1, max_length=512
    )
    """Image URI of the edgeAgent module (the doc's field name, kept as written)."""
    provisioning: AzureProvisioning | None = None
    """How the runtime joins its IoT Hub."""
    ca_cert_file: SecretRef | None = None
    """Device CA certificate (doc: caCertFile upload), by secretRef."""
    ca_pk_file: SecretRef | None = None
    """Device CA private key (doc: caPkFile upload), by secretRef."""
    trusted_ca_file: SecretRef | None = None
    """Every trusted CA in one PEM file (doc: trustedCaFile upload), by secretRef."""


class ServiceAccount(SpecModel):
    """An app's service account (doc: POST /services)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    """The service's name."""
    display_name: str | None = Field(default=None, max_length=255)
    """The name shown for it."""
    source: str | None = Field(default=None, max_length=64)
    """What created the service (the doc's example: AzureIoTEdge)."""
    required: list[str] | None = None
    """Permissions the service requires."""


class EdgeSpec(SpecModel):
    """The gateway's app platform (sim only: a Debian host does not run these services,
    so the linux backend reports the area unavailable)."""

    functions: list[EdgeFunction] | None = None
    """Edge functions by name (their code package is uploaded to the unit, not declared)."""
    azure_iot_edge: AzureIotEdge | None = None
    """The Azure IoT Edge runtime."""
    service_accounts: list[ServiceAccount] | None = None
    """Service accounts by name."""
    prune: bool = False
    """Remove functions and service accounts this reconciler created earlier that are
    gone from the spec."""


def capability_problems(spec: EdgeSpec, profile: HardwareProfile) -> Iterator[tuple[Loc, str]]:
    if not profile.edge_apps:
        yield (), f"model {profile.model} has no app platform (edge functions, IoT Edge)"
