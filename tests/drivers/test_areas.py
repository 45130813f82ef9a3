"""The area registry is the one list of areas: the spec, the engine and every backend
agree with it, and an area a backend lacks is reported unavailable, never skipped."""

from __future__ import annotations

from pathlib import Path

import pytest
from linux_fakehost import FakeMachine

from reconciler.areas import AREA_NAMES, AREAS, BACKENDS, CONNECTIVITY_AREAS, implemented_by
from reconciler.drivers.linux.backend import LinuxBackend
from reconciler.drivers.linux.context import LinuxOptions
from reconciler.drivers.sim.backend import SimBackend
from reconciler.engine.change import Change
from reconciler.engine.risk import classify
from reconciler.errors import DeviceUnavailable
from reconciler.spec.device import NOT_DEVICE_STATE, Spec


def test_spec_areas_are_the_registry() -> None:
    fields = {f.alias or name for name, f in Spec.model_fields.items()} - NOT_DEVICE_STATE
    assert fields == set(AREA_NAMES)


def test_every_area_names_only_known_backends() -> None:
    for area in AREAS:
        assert area.backends <= set(BACKENDS), area.name


def test_connectivity_risk_is_what_safe_apply_wraps() -> None:
    assert classify(("services", "ssh"))[0] == "connectivity"
    assert classify(("access", "ssh", "port"))[0] == "connectivity"
    assert classify(("access", "users"))[0] == "none"
    assert {"network", "firewall", "access", "services"} == CONNECTIVITY_AREAS


def test_sim_implements_every_area(tmp_path: Path) -> None:
    backend = SimBackend.open(tmp_path, "UNO-2484G")
    assert set(implemented_by("sim")) == set(AREA_NAMES)
    observed = backend.observe()
    assert set(observed) <= set(AREA_NAMES)


def _linux(tmp_path: Path) -> LinuxBackend:
    machine = FakeMachine(tmp_path / "root")
    return LinuxBackend.open(
        tmp_path / "state", "UNO-2484G", machine.root, machine.runner(), LinuxOptions()
    )


def test_linux_reports_areas_it_lacks_unavailable(tmp_path: Path) -> None:
    backend = _linux(tmp_path)
    lacking = set(AREA_NAMES) - set(implemented_by("linux"))
    assert lacking == {"io", "brightness", "edge"}
    for area in lacking:
        change = Change(path=(area,), op="replace", before=None, after=1)
        with pytest.raises(DeviceUnavailable, match=area):
            backend.driver(area).apply([change], lambda name: name)
    # an area with a recorded reason says why (the gateway's app platform)
    change = Change(path=("edge",), op="replace", before=None, after={"functions": []})
    with pytest.raises(DeviceUnavailable, match="gateway's own software"):
        backend.driver("edge").apply([change], lambda name: name)


def test_every_backend_of_the_registry_has_an_opener() -> None:
    """A backend is its opener (operations.OPENERS) plus its name in the areas it serves."""
    from reconciler.areas import BACKENDS
    from reconciler.operations import OPENERS

    assert set(OPENERS) == set(BACKENDS)


def test_every_linux_area_has_a_driver_that_imports(tmp_path: Path) -> None:
    """The linux drivers are imported when an area is used; each one the registry says the
    backend implements must resolve to a driver with observe and apply."""
    from reconciler.drivers.linux.areas import DRIVERS, STORED, NotManaged

    backend = _linux(tmp_path)
    assert set(implemented_by("linux")) == set(DRIVERS) | set(STORED)
    for area in DRIVERS:
        driver = backend.driver(area)
        assert not isinstance(driver, NotManaged), area
        assert callable(driver.observe) and callable(driver.apply), area
