from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from portalkit import CREDENTIALS, SPEC, Unit, serve, write_secret

from reconciler.drivers.portal.emulator import EmulatedDevice, PortalEmulator


@pytest.fixture
def unit(tmp_path: Path) -> Iterator[Unit]:
    """One emulated unit on loopback, its admin credentials as secret `unit-admin`."""
    device = EmulatedDevice()
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    write_secret(secrets, "unit-admin", CREDENTIALS)
    spec = tmp_path / "unit.yaml"
    spec.write_text(SPEC)
    with serve(PortalEmulator({"": device})) as url:
        args = [
            "--backend", "portal", "--endpoint", url, "--credentials", "unit-admin",
            "--account", "admin", "--state-dir", str(tmp_path / "state"),
            "--secrets-dir", str(secrets),
        ]  # fmt: skip
        yield Unit(url, device, args, spec)
