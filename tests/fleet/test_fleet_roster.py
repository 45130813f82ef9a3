"""The roster `fleet status` joins reports with: names, labels and groups from the device
heads, remembered between runs and re-read when a file changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fleetkit import device_yaml, group_yaml, write_fleet

from reconciler.fleet.roster import cache_file, read_roster


def test_heads_groups_and_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = tmp_path / "fleet"
    write_fleet(
        root,
        groups={"plant-a": group_yaml("plant-a", "{site: a}", 10, "{}\n")},
        devices={
            "gw-1": device_yaml("gw-1", "{site: a}"),
            "gw-2": device_yaml("gw-2", "{site: b}"),
            "broken": "apiVersion: reconciler/v1\nkind: Device\nmetadata: [\n",
        },
    )
    (root / "devices" / "elsewhere.yaml").symlink_to(root / "devices" / "gw-1.yaml")
    first = read_roster(root)
    assert [(m.name, m.groups) for m in first.members] == [("gw-1", ["plant-a"]), ("gw-2", [])]
    assert first.unreadable == [str(root / "devices" / "broken.yaml")]
    assert cache_file(root).is_file()

    moved = root / "devices" / "gw-2.yaml"
    moved.write_text(device_yaml("gw-2", "{site: a}"))
    stat = moved.stat()
    os.utime(moved, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    again = read_roster(root)
    assert [(m.name, m.groups) for m in again.members] == [
        ("gw-1", ["plant-a"]),
        ("gw-2", ["plant-a"]),
    ]
    assert again.selected({"site": "a"}) == again.members


def test_not_a_fleet_root(tmp_path: Path) -> None:
    from reconciler.loader import SpecError

    with pytest.raises(SpecError, match="not a fleet root"):
        read_roster(tmp_path)
