"""How a management host reaches a device for agentless reconciling (metadata.connection)."""

from typing import Literal

from pydantic import Field

from reconciler.spec.base import SecretRef, SpecModel


class Connection(SpecModel):
    """`reconcile plan|apply --fleet DIR --all` drives every device that has one."""

    backend: Literal["portal"]
    """The device's API: the platform portal's REST API."""
    url: str = Field(pattern=r"^https?://[^/@\s]+(/\S*)?$", max_length=2048)
    """Base URL of the unit's portal, e.g. https://10.20.3.15 (no credentials in it)."""
    credentials: SecretRef
    """Secret holding "user:password" on the management host."""
    account: Literal["os", "admin"] = "os"
    """Portal account type: os (m=0) or admin (m=2)."""
    insecure: bool = False
    """Do not verify the unit's TLS certificate (lab units only)."""
