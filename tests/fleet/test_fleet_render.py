"""Rendering a device from a fleet on disk: layering order, located problems, bad input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fleetkit import REFERENCE_FLEET, device_yaml, group_yaml, write_fleet

from reconciler.fleet.documents import load_repo
from reconciler.fleet.render import Renderer, load_fleet_device, render_fleet_device
from reconciler.fleet.source import DirSource
from reconciler.loader import MAX_FILE_BYTES, SpecError


@pytest.fixture
def simple(tmp_path: Path) -> Path:
    return write_fleet(
        tmp_path / "fleet",
        groups={
            "plant-a": group_yaml(
                "plant-a",
                "{site: plant-a}",
                10,
                """\
                system:
                  timezone: Europe/Berlin
                watchdog: {timeoutSeconds: 30}
                """,
            ),
        },
        devices={
            "d1": device_yaml(
                "d1",
                "{site: plant-a}",
                """\
                system:
                  hostname: d1
                """,
            )
        },
    )


def test_renders_layers_in_order_with_origins(simple: Path) -> None:
    rendered = render_fleet_device(simple, "d1")
    assert rendered.ok, rendered.problems
    assert rendered.spec is not None
    assert list(rendered.data or {}) == ["apiVersion", "kind", "metadata", "spec"]
    spec = (rendered.data or {})["spec"]
    assert spec["system"] == {
        "timezone": "Europe/Berlin",
        "ntp": ["pool.ntp.org"],
        "hostname": "d1",
    }
    assert spec["watchdog"] == {"enabled": True, "timeoutSeconds": 30}
    prov = rendered.merged.provenance if rendered.merged else {}
    fleet_file, group_file = str(simple / "fleet.yaml"), str(simple / "groups" / "plant-a.yaml")
    device_file = str(simple / "devices" / "d1.yaml")
    assert [(o.file, o.line) for o in prov[("spec", "system", "ntp")]] == [(fleet_file, 6)]
    assert [(o.file, o.line) for o in prov[("spec", "system", "timezone")]] == [
        (fleet_file, 5),
        (group_file, 8),
    ]
    assert [(o.file, o.line) for o in prov[("spec", "system", "hostname")]] == [(device_file, 9)]
    assert [o.layer for o in prov[("spec", "watchdog", "timeoutSeconds")]] == [
        "fleet",
        "group:plant-a",
    ]


def test_load_fleet_device_returns_the_model(simple: Path) -> None:
    spec = load_fleet_device(simple, "d1")
    assert spec.metadata.name == "d1"
    assert spec.spec.watchdog is not None and spec.spec.watchdog.timeout_seconds == 30
    assert spec.spec.system is not None and spec.spec.system.timezone == "Europe/Berlin"


def test_problem_introduced_by_group_is_located_in_the_group(simple: Path) -> None:
    # AIG-302's watchdog allows at most 60 s; the group sets 300 for every plant-a device.
    (simple / "groups" / "plant-a.yaml").write_text(
        group_yaml("plant-a", "{site: plant-a}", 10, "watchdog: {timeoutSeconds: 300}\n")
    )
    (simple / "devices" / "d1.yaml").write_text(device_yaml("d1", "{site: plant-a}", "", "AIG-302"))
    with pytest.raises(SpecError) as info:
        load_fleet_device(simple, "d1")
    (problem,) = info.value.problems
    assert problem.file == str(simple / "groups" / "plant-a.yaml")
    assert (problem.line, problem.col) == (7, 30)
    assert problem.path == "spec.watchdog.timeoutSeconds"
    assert "watchdog range" in problem.message


def test_schema_errors_are_located_in_the_layer_that_wrote_them(simple: Path) -> None:
    (simple / "fleet.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Fleet\nspec:\n  system: {timezone: Mars/Olympus}\n"
        "  watchdog: {enabled: maybe}\n"
    )
    (simple / "devices" / "d1.yaml").write_text(
        device_yaml("d1", "{site: plant-a}", "system:\n  hostnme: d1\n")
    )
    with pytest.raises(SpecError) as info:
        load_fleet_device(simple, "d1")
    found = {(p.file.rsplit("/", 1)[-1], p.line, p.col, p.path) for p in info.value.problems}
    assert ("d1.yaml", 9, 5, "spec.system.hostnme") in found
    assert ("fleet.yaml", 5, 23, "spec.watchdog.enabled") in found
    messages = " ".join(p.message for p in info.value.problems)
    assert "did you mean 'hostname'" in messages
    # fleet.yaml's bad timezone was overridden by the group, so it is not in effect.
    assert len(found) == 2


def test_unknown_field_in_a_group_is_reported_without_any_device(tmp_path: Path) -> None:
    root = write_fleet(
        tmp_path,
        groups={"g": group_yaml("g", "{site: nowhere}", 1, "system: {timezon: UTC}\n")},
    )
    repo = load_repo(DirSource(root))
    (problem,) = [p for p in repo.problems if p.severity == "error"]
    assert (problem.line, problem.col, problem.path) == (7, 12, "spec.system.timezon")
    assert "did you mean 'timezone'" in problem.message


def test_groups_apply_by_priority_then_name(tmp_path: Path) -> None:
    root = write_fleet(
        tmp_path,
        groups={
            "zeta": group_yaml("zeta", "{site: s}", 1, "system: {description: zeta}\n"),
            "alpha": group_yaml("alpha", "{role: r}", 5, "system: {description: alpha}\n"),
            "beta": group_yaml("beta", "{site: s}", 5, "system: {timezone: UTC}\n"),
        },
        devices={"d": device_yaml("d", "{site: s, role: r}")},
    )
    repo = load_repo(DirSource(root))
    assert [g.name for g in repo.groups] == ["zeta", "alpha", "beta"]
    rendered = Renderer(repo).render("devices/d.yaml")
    assert [g.name for g in rendered.groups] == ["zeta", "alpha", "beta"]
    assert (rendered.data or {})["spec"]["system"]["description"] == "alpha"
    assert rendered.ok


def test_equal_priority_conflict_from_files(tmp_path: Path) -> None:
    root = write_fleet(
        tmp_path,
        groups={
            "a": group_yaml("a", "{site: s}", 5, "system: {timezone: Europe/Berlin}\n"),
            "b": group_yaml("b", "{role: r}", 5, "system: {timezone: Europe/Paris}\n"),
        },
        devices={"d": device_yaml("d", "{site: s, role: r}")},
    )
    with pytest.raises(SpecError) as info:
        load_fleet_device(root, "d")
    (problem,) = info.value.problems
    assert problem.file == str(root / "groups" / "b.yaml")
    assert f"{root / 'groups' / 'a.yaml'}:7:22" in problem.message
    assert problem.line == 7


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b", "..", "D1", "", "x" * 64])
def test_device_names_that_are_not_dns_labels_are_refused(simple: Path, name: str) -> None:
    with pytest.raises(SpecError) as info:
        load_fleet_device(simple, name)
    assert "invalid device name" in str(info.value)


def test_missing_device_and_missing_root(simple: Path, tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no device 'nope'"):
        load_fleet_device(simple, "nope")
    with pytest.raises(SpecError, match="fleet root does not exist"):
        load_fleet_device(tmp_path / "missing", "d1")
    with pytest.raises(SpecError, match=r"no fleet.yaml: not a fleet root"):
        load_fleet_device(tmp_path / "fleet" / "devices", "d1")


def test_symlink_escaping_the_repo_is_refused(simple: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text(device_yaml("d2", "{site: plant-a}"))
    (simple / "devices" / "d2.yaml").symlink_to(outside)
    with pytest.raises(SpecError) as info:
        load_fleet_device(simple, "d2")
    assert "symlink escapes the fleet repo" in str(info.value)
    # A symlink that stays inside the repo is fine.
    (simple / "devices" / "d3.yaml").symlink_to(simple / "devices" / "d1.yaml")
    rendered = render_fleet_device(simple, "d3")
    assert any("does not match metadata.name 'd1'" in p.message for p in rendered.problems)


def test_symlinked_groups_dir_escaping_is_refused(simple: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "evil.yaml").write_text(
        group_yaml("evil", "{site: plant-a}", 99, "leds: {0: on}\n")
    )
    os.rename(simple / "groups", tmp_path / "old-groups")
    (simple / "groups").symlink_to(elsewhere)
    repo = load_repo(DirSource(simple))
    assert repo.groups == []
    assert any("symlink escapes" in p.message for p in repo.problems)
    with pytest.raises(SpecError, match="symlink escapes"):
        load_fleet_device(simple, "d1")


def test_a_fifo_or_a_directory_named_like_a_device_is_refused_without_blocking(
    simple: Path,
) -> None:
    os.mkfifo(simple / "devices" / "pipe.yaml")  # opening it for reading would wait
    (simple / "devices" / "dir.yml").mkdir()
    for name in ("pipe", "dir"):
        rendered = render_fleet_device(simple, name)
        assert rendered.merged is None
        assert [p.message for p in rendered.problems] == ["not a regular file"]


def test_huge_and_binary_files_are_refused_unread(simple: Path) -> None:
    big = simple / "devices" / "big.yaml"
    with big.open("wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing is really written
    rendered = render_fleet_device(simple, "big")
    assert rendered.merged is None
    assert "larger than the 1024 KiB limit" in rendered.problems[0].message
    (simple / "devices" / "bin.yaml").write_bytes(b"apiVersion: x\n\x00\x01\x02")
    rendered = render_fleet_device(simple, "bin")
    assert rendered.merged is None
    assert (rendered.problems[0].line, "binary file") == (2, "binary file")


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("{}", "empty selector"),
        ("{site: [a, b]}", "valid string"),
        ("{'bad key!': x}", "invalid label key"),
        ("{site: 'no spaces'}", "invalid value"),
        ("site", "valid dictionary"),
    ],
)
def test_invalid_selectors_are_located_errors(tmp_path: Path, selector: str, message: str) -> None:
    root = write_fleet(
        tmp_path,
        groups={"g": group_yaml("g", selector, 1, "leds: {0: on}\n")},
        devices={"d": device_yaml("d", "{site: a}")},
    )
    repo = load_repo(DirSource(root))
    assert repo.groups == []
    (problem,) = repo.problems
    assert problem.file == str(root / "groups" / "g.yaml")
    assert problem.line == 4
    assert message in problem.message
    with pytest.raises(SpecError):
        load_fleet_device(root, "d")


def test_wrong_kind_and_group_file_name(tmp_path: Path) -> None:
    root = write_fleet(
        tmp_path,
        groups={
            "a": group_yaml("b", "{site: s}", 1, "leds: {0: on}\n"),
            "c": device_yaml("c", "{site: s}"),
        },
    )
    repo = load_repo(DirSource(root))
    messages = sorted(p.message for p in repo.problems)
    assert any("must live in groups/b.yaml" in m for m in messages)
    assert any("Input should be 'Group'" in m for m in messages)


def test_reference_fleet_renders_every_device() -> None:
    repo = load_repo(DirSource(REFERENCE_FLEET))
    assert not repo.problems
    renderer = Renderer(repo)
    names = sorted(p.stem for p in (REFERENCE_FLEET / "devices").glob("*.yaml"))
    assert len(names) >= 12
    models = set()
    for name in names:
        rendered = renderer.render(f"devices/{name}.yaml")
        assert rendered.ok, [str(p) for p in rendered.problems]
        assert rendered.spec is not None
        models.add(rendered.spec.metadata.model)
        assert load_fleet_device(REFERENCE_FLEET, name).metadata.name == name
    assert models == {"UNO-2484G", "AIG-302"}
