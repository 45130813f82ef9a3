"""VPN clients: OpenVPN client profiles (gateway doc: the openvpn group, which imports one
profile file and enables the client with it).

The spec names each profile and takes its content by secretRef: an OpenVPN profile holds
the client's certificate and private key inline, so it never lives in Git and is
compared by fingerprint. The doc's unit holds one profile; a Debian host runs one
`openvpn-client@NAME` unit per /etc/openvpn/client/NAME.conf, hence a list bounded by
the model.
"""

from collections.abc import Iterator

from pydantic import Field

from reconciler.profiles import HardwareProfile
from reconciler.spec.base import Loc, SecretRef, SpecModel


class OpenVpnClient(SpecModel):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    """Profile name (linux: /etc/openvpn/client/NAME.conf, unit openvpn-client@NAME)."""
    enable: bool = True
    """Run the client with this profile (doc: PUT enable)."""
    profile: SecretRef
    """The .ovpn profile, with its certificates and keys inline, by secretRef."""


class VpnSpec(SpecModel):
    openvpn: list[OpenVpnClient] | None = None
    """OpenVPN client profiles by name. The doc's unit imports one profile file; the
    spec names profiles (a Debian host runs one openvpn-client@NAME per profile), the
    model bounds how many (AIG-302: one), and each profile is a secretRef because it
    holds the client's key."""
    prune: bool = False
    """Remove client profiles this reconciler created earlier that are gone from the spec."""


def capability_problems(spec: VpnSpec, profile: HardwareProfile) -> Iterator[tuple[Loc, str]]:
    clients = spec.openvpn or []
    if clients and not profile.openvpn_profiles:
        yield ("openvpn",), f"model {profile.model} has no OpenVPN client"
    elif len(clients) > profile.openvpn_profiles:
        yield (
            ("openvpn", profile.openvpn_profiles),
            f"model {profile.model} holds at most {profile.openvpn_profiles} OpenVPN "
            "client profile(s)",
        )
