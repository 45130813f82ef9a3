"""`reconcile fleet diff` on a real git repository with several commits."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest
from fleetkit import device_yaml, fleet_runner, group_yaml, write_fleet

from reconciler.fleet.diff import diff_revisions

FIREWALL = """\
firewall:
  inbound:
    - {name: modbus, port: 502, protocol: tcp}
    - {name: opcua, port: 4840, protocol: tcp}
"""
FIREWALL_REORDERED = """\
firewall:
  inbound:
    - {name: opcua, port: 4840, protocol: tcp}   # same rules, other order
    - {name: modbus, port: 502, protocol: tcp}
"""


def commit(repo: git.Repo, message: str) -> str:
    repo.git.add(A=True)
    repo.index.commit(message)
    return repo.head.commit.hexsha


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A git repo whose fleet lives in fleet/, with one kind of change per commit."""
    top = tmp_path / "repo"
    top.mkdir()
    repo = git.Repo.init(top)
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "Fleet Engineer")
        cfg.set_value("user", "email", "fleet@example.com")
    root = top / "fleet"
    groups = root / "groups"
    devices = root / "devices"
    write_fleet(
        root,
        groups={
            "site-a": group_yaml("site-a", "{site: a}", 10, "system: {timezone: Europe/Berlin}\n"),
            "site-b": group_yaml("site-b", "{site: b}", 10, "system: {timezone: Europe/Paris}\n"),
            "gw": group_yaml("gw", "{role: gw}", 20, FIREWALL),
        },
        devices={
            "a1": device_yaml("a1", "{site: a}"),
            "a2": device_yaml("a2", "{site: a}"),
            "b1": device_yaml("b1", "{site: b, role: gw}"),
            "b2": device_yaml("b2", "{site: b}", "system: {hostname: b2}\n"),
        },
    )
    (top / "README.md").write_text("fleet repo\n")
    revs = {"initial": commit(repo, "initial fleet")}

    (groups / "site-a.yaml").write_text(
        group_yaml("site-a", "{site: a}", 10, "system: {timezone: Europe/Vienna}\n")
    )
    revs["site-a"] = commit(repo, "plant A moves time zone")

    (devices / "b2.yaml").write_text(device_yaml("b2", "{site: b}", "system: {hostname: b2-new}\n"))
    revs["b2"] = commit(repo, "rename b2's host")

    (devices / "a3.yaml").write_text(device_yaml("a3", "{site: a}"))
    (devices / "a2.yaml").unlink()
    revs["add-remove"] = commit(repo, "a3 replaces a2")

    (groups / "gw.yaml").write_text(group_yaml("gw", "{role: gw}", 20, FIREWALL_REORDERED))
    (groups / "site-b.yaml").write_text(
        "# Plant B\n" + group_yaml("site-b", "{site: b}", 10, "system:\n  timezone: Europe/Paris\n")
    )
    (top / "README.md").write_text("fleet repo, now documented\n")
    revs["cosmetic"] = commit(repo, "reorder rules, reformat, docs")

    (groups / "gw.yaml").write_text(group_yaml("gw", "{site: a}", 20, FIREWALL))
    revs["selector"] = commit(repo, "gateway rules for all of site A instead")
    repo.close()
    return root, revs


def changed(root: Path, rev1: str, rev2: str | None) -> dict[str, str]:
    return {d.name: d.status for d in diff_revisions(root, rev1, rev2).devices}


def test_each_commit_reports_exactly_the_changed_devices(history) -> None:
    root, revs = history
    assert changed(root, revs["initial"], revs["site-a"]) == {"a1": "changed", "a2": "changed"}
    assert changed(root, revs["site-a"], revs["b2"]) == {"b2": "changed"}
    assert changed(root, revs["b2"], revs["add-remove"]) == {"a2": "removed", "a3": "added"}
    assert changed(root, revs["add-remove"], revs["cosmetic"]) == {}
    assert changed(root, revs["cosmetic"], revs["selector"]) == {
        "a1": "changed",
        "a3": "changed",
        "b1": "changed",
    }
    # Across several commits, and backwards.
    assert changed(root, revs["initial"], revs["add-remove"]) == {
        "a1": "changed",
        "a2": "removed",
        "a3": "added",
        "b2": "changed",
    }
    assert changed(root, revs["add-remove"], revs["initial"])["a3"] == "removed"


def test_leaf_changes_and_group_membership(history) -> None:
    root, revs = history
    result = diff_revisions(root, revs["initial"], revs["site-a"])
    a1 = next(d for d in result.devices if d.name == "a1")
    assert [(c.path, c.op, c.before, c.after) for c in a1.changes] == [
        ("spec.system.timezone", "change", "Europe/Berlin", "Europe/Vienna")
    ]
    result = diff_revisions(root, revs["cosmetic"], revs["selector"])
    b1 = next(d for d in result.devices if d.name == "b1")
    assert (b1.groups_before, b1.groups_after) == (["site-b", "gw"], ["site-b"])
    assert {c.path for c in b1.changes} == {
        "spec.firewall.inbound.modbus.name",
        "spec.firewall.inbound.modbus.port",
        "spec.firewall.inbound.modbus.protocol",
        "spec.firewall.inbound.opcua.name",
        "spec.firewall.inbound.opcua.port",
        "spec.firewall.inbound.opcua.protocol",
    }
    assert {c.op for c in b1.changes} == {"remove"}


def test_cli_text_and_json(history, capsys) -> None:
    fleet_cli = fleet_runner(capsys)
    root, revs = history
    text = fleet_cli("diff", root, revs["initial"], revs["site-a"])
    assert text.code == 0, text.err
    assert "2 of 4 devices change" in text.out
    assert '~ spec.system.timezone: "Europe/Berlin" -> "Europe/Vienna"' in text.out
    assert [line for line in text.out.splitlines() if line.startswith(("~", "+", "-"))] == [
        "~ a1",
        "~ a2",
    ]
    data = json.loads(fleet_cli("diff", root, "HEAD~5", "HEAD~4", "--json").out)
    assert data["from"]["commit"] == revs["initial"]
    assert data["summary"] == {"added": 0, "removed": 0, "changed": 2}
    assert [d["name"] for d in data["changed"]] == ["a1", "a2"]
    assert data["changed"][0]["changes"] == [
        {
            "path": "spec.system.timezone",
            "op": "change",
            "before": "Europe/Berlin",
            "after": "Europe/Vienna",
        }
    ]
    assert fleet_cli("diff", root, "HEAD~2", "HEAD~1", "--exit-code").code == 0
    assert fleet_cli("diff", root, "HEAD~1", "HEAD", "--exit-code").code == 2


def test_since_compares_with_the_work_tree(history, capsys) -> None:
    fleet_cli = fleet_runner(capsys)
    root, _ = history
    assert changed(root, "HEAD", None) == {}
    (root / "devices" / "b1.yaml").write_text(
        device_yaml("b1", "{site: b, role: gw}", "system: {hostname: edited}\n")
    )
    (root / "devices" / "c1.yaml").write_text(device_yaml("c1", "{site: b}"))  # untracked
    assert changed(root, "HEAD", None) == {"b1": "changed", "c1": "added"}
    result = fleet_cli("diff", root, "--since", "HEAD")
    assert result.code == 0
    assert "HEAD..work tree: 2 of 5 devices change" in result.out


def test_fleet_at_the_repo_root(tmp_path: Path) -> None:
    repo = git.Repo.init(tmp_path)
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "t")
        cfg.set_value("user", "email", "t@example.com")
    write_fleet(tmp_path, devices={"d": device_yaml("d", "{site: a}")})
    first = commit(repo, "one")
    (tmp_path / "fleet.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Fleet\nspec:\n  leds: {1: on}\n"
    )
    second = commit(repo, "two")
    repo.close()
    result = diff_revisions(tmp_path, first, second)
    (device,) = result.devices
    assert {c.path for c in device.changes} == {
        "spec.system.timezone",
        "spec.system.ntp",
        "spec.watchdog.enabled",
        "spec.watchdog.timeoutSeconds",
        "spec.leds.1",
    }


def test_fleet_root_added_in_a_later_commit(tmp_path: Path) -> None:
    repo = git.Repo.init(tmp_path)
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "t")
        cfg.set_value("user", "email", "t@example.com")
    (tmp_path / "README.md").write_text("x\n")
    first = commit(repo, "empty")
    write_fleet(tmp_path / "fleet", devices={"d": device_yaml("d", "{site: a}")})
    second = commit(repo, "fleet")
    repo.close()
    assert changed(tmp_path / "fleet", first, second) == {"d": "added"}


def test_bad_revisions_and_no_repository(history, tmp_path: Path, capsys) -> None:
    fleet_cli = fleet_runner(capsys)
    root, _ = history
    bad = fleet_cli("diff", root, "HEAD", "no-such-branch")
    assert bad.code == 1
    assert "unknown revision 'no-such-branch'" in bad.err
    assert "Traceback" not in bad.err
    usage = fleet_cli("diff", root, "HEAD")
    assert usage.code == 1 and "two revisions" in usage.err
    lonely = write_fleet(tmp_path / "lonely")
    outside = fleet_cli("diff", lonely, "HEAD~1", "HEAD")
    assert outside.code == 1
    assert "not inside a git repository" in outside.err


def test_symlink_in_a_commit_escaping_the_fleet_is_refused(tmp_path: Path) -> None:
    repo = git.Repo.init(tmp_path)
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "t")
        cfg.set_value("user", "email", "t@example.com")
    root = write_fleet(tmp_path / "fleet", devices={"d": device_yaml("d", "{site: a}")})
    first = commit(repo, "one")
    (tmp_path / "secret.yaml").write_text(device_yaml("e", "{site: a}"))
    (root / "devices" / "e.yaml").symlink_to("../../secret.yaml")
    second = commit(repo, "sneaky")
    repo.close()
    result = diff_revisions(root, first, second)
    assert any("symlink escapes the fleet repo" in p.message for p in result.after.problems)
    assert [d.name for d in result.devices] == []
