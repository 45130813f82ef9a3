"""`fleet validate` checks an inherited area once per group set and model: the verdict must
be the full validation's, for every device, whichever device of a group set comes first."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from fleetkit import REFERENCE_FLEET, REPO, device_yaml, fleet_runner, group_yaml, write_fleet
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.fleet.documents import device_files, load_repo
from reconciler.fleet.quickcheck import QuickChecker
from reconciler.fleet.render import Renderer
from reconciler.fleet.source import DirSource
from reconciler.loader import parse_document
from reconciler.spec.device import DeviceSpec, Spec


def test_spec_areas_have_no_cross_area_validators() -> None:
    """The quick path's premise: Spec and DeviceSpec validate each field on its own."""
    for model in (Spec, DeviceSpec):
        decorators = model.__pydantic_decorators__
        assert not decorators.model_validators, model
        assert set(decorators.field_validators) <= {"_strict_scalars"}, model


def _leds_in_group(root: Path, names: dict[str, str]) -> Path:
    """One group sets an LED for a UNO (8 LEDs) and an AIG (none) alike."""
    return write_fleet(
        root,
        groups={"plant": group_yaml("plant", "{site: plant}", 10, "leds: {0: on}\n")},
        devices={
            name: device_yaml(name, "{site: plant}", model=model) for name, model in names.items()
        },
    )


@pytest.mark.parametrize(
    "names",
    [{"a-uno": "UNO-2484G", "b-aig": "AIG-302"}, {"a-aig": "AIG-302", "b-uno": "UNO-2484G"}],
)
def test_inherited_area_is_judged_per_model(tmp_path: Path, capsys, names: dict[str, str]) -> None:
    fleet_cli = fleet_runner(capsys)
    root = _leds_in_group(tmp_path / "fleet", names)
    result = fleet_cli("validate", root, "--jobs", "1")
    assert result.code == 1
    aig = next(name for name, model in names.items() if model == "AIG-302")
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    where = f"{root}/groups/plant.yaml:7:13: spec.leds.0"
    assert lines[0] == f"{where}: AIG-302 has no user LEDs [1 device: {aig}]"
    assert "1 errors, 0 warnings: invalid" in result.out


def _verdicts(root: Path) -> list[tuple[str, bool, bool]]:
    """(device, quick verdict, full verdict) for every device, quick cache warm in order."""
    source = DirSource(root)
    renderer = Renderer(load_repo(source))
    quick = QuickChecker(renderer)
    out = []
    for rel in device_files(source)[0]:
        layered = renderer.render(rel, validate=False)
        full = renderer.render(rel)
        out.append((rel, quick.valid(layered), full.ok))
    return out


def test_quick_verdict_never_passes_what_full_validation_fails(tmp_path: Path) -> None:
    broken = write_fleet(
        tmp_path / "fleet",
        groups={
            "plant": group_yaml(
                "plant",
                "{site: plant}",
                10,
                "update: {maintenanceWindow: {cron: '0 2 * * 0', durationMinutes: 60}}\n"
                "leds: {3: on}\n",
            ),
            "bad-cron": group_yaml(
                "bad-cron", "{role: late}", 20, "update: {maintenanceWindow: {cron: 'x'}}\n"
            ),
        },
        devices={
            "uno-1": device_yaml("uno-1", "{site: plant}"),
            "aig-1": device_yaml("aig-1", "{site: plant}", model="AIG-302"),
            "late-1": device_yaml("late-1", "{site: plant, role: late}"),
            "own-1": device_yaml("own-1", "{site: plant}", "watchdog: {timeoutSeconds: 1}\n"),
            "uno-2": device_yaml("uno-2", "{site: plant}"),
        },
    )
    bare = write_fleet(
        tmp_path / "bare",
        fleet="apiVersion: reconciler/v1\nkind: Fleet\n",
        devices={"solo": device_yaml("solo", "{site: x}", "watchdog: {enabled: true}\n")},
    )
    for root, expect_valid in ((REFERENCE_FLEET, True), (broken, False), (bare, True)):
        verdicts = _verdicts(root)
        assert verdicts and all(quick == full for _, quick, full in verdicts), verdicts
        assert all(full for _, _, full in verdicts) is expect_valid
    passed = {rel for rel, quick, _ in _verdicts(broken) if quick}
    assert passed == {"devices/uno-1.yaml", "devices/uno-2.yaml"}


AREAS = [
    (area, value)
    for seed in sorted((REPO / "examples").glob("*.yaml"))
    for area, value in (parse_document(seed.read_text(), seed.name).data.get("spec") or {}).items()
    if area != "files"
]
fragments = st.dictionaries(st.sampled_from(range(len(AREAS))), st.just(None), max_size=4).map(
    lambda picked: dict(AREAS[i] for i in picked)
)


@settings(max_examples=12, deadline=None, derandomize=True)
@given(
    st.lists(fragments, min_size=1, max_size=3),
    st.lists(
        st.tuples(st.sampled_from(["UNO-2484G", "AIG-302"]), st.integers(0, 7), fragments),
        min_size=2,
        max_size=6,
    ),
)
def test_quick_verdict_is_the_full_one_on_example_areas(
    groups: list[dict[str, object]], devices: list[tuple[str, int, dict[str, object]]]
) -> None:
    """Groups and devices built from the examples' areas (valid on some models, not on
    others); device i is in group g when bit g of its mask is set."""
    with tempfile.TemporaryDirectory() as tmp:
        root = write_fleet(
            Path(tmp),
            groups={
                f"g{g}": group_yaml(f"g{g}", f"{{g{g}: 'y'}}", g, json.dumps(spec))
                for g, spec in enumerate(groups)
            },
            devices={
                f"d{i}": device_yaml(
                    f"d{i}",
                    json.dumps({f"g{g}": "y" for g in range(len(groups)) if mask >> g & 1}),
                    json.dumps(own),
                    model=model,
                )
                for i, (model, mask, own) in enumerate(devices)
            },
        )
        verdicts = _verdicts(root)
    assert len(verdicts) == len(devices)
    assert all(quick == full for _, quick, full in verdicts), verdicts
