"""Merge rules and provenance, on layers parsed from real YAML text (positions included)."""

from __future__ import annotations

import copy
import textwrap

from reconciler.fleet.merge import Layer, Merged, merge_layers
from reconciler.loader import parse_document


def layer(name: str, text: str, priority: int | None = None, file: str | None = None) -> Layer:
    doc = parse_document(textwrap.dedent(text), file or f"{name}.yaml")
    return Layer(name, doc.file, doc.data, doc.positions, priority)


def merged(*layers: Layer) -> Merged:
    return merge_layers(layers)


def test_maps_merge_deeply() -> None:
    base = layer(
        "fleet", "spec:\n  system: {timezone: UTC, ntp: [a]}\n  watchdog: {enabled: true}\n"
    )
    over = layer("device", "spec:\n  system: {hostname: d1}\n  watchdog: {timeoutSeconds: 30}\n")
    result = merged(base, over)
    assert result.data == {
        "spec": {
            "system": {"timezone": "UTC", "ntp": ["a"], "hostname": "d1"},
            "watchdog": {"enabled": True, "timeoutSeconds": 30},
        }
    }
    assert not result.problems


def test_named_lists_merge_by_name() -> None:
    base = layer(
        "fleet",
        """\
        spec:
          firewall:
            inbound:
              - {name: modbus, port: 502, protocol: tcp}
              - {name: ssh, port: 22, protocol: tcp}
        """,
    )
    over = layer(
        "device",
        """\
        spec:
          firewall:
            inbound:
              - {name: ssh, source: 10.0.0.0/8}
              - {name: opcua, port: 4840, protocol: tcp}
        """,
    )
    result = merged(base, over)
    assert result.data["spec"]["firewall"]["inbound"] == [
        {"name": "modbus", "port": 502, "protocol": "tcp"},
        {"name": "ssh", "port": 22, "protocol": "tcp", "source": "10.0.0.0/8"},
        {"name": "opcua", "port": 4840, "protocol": "tcp"},
    ]


def test_other_lists_replace_and_empty_list_clears() -> None:
    base = layer(
        "fleet",
        "spec:\n  system: {ntp: [a, b]}\n  firewall: {inbound: [{name: x, port: 1}]}\n",
    )
    over = layer("device", "spec:\n  system: {ntp: [c]}\n  firewall: {inbound: []}\n")
    result = merged(base, over)
    assert result.data["spec"]["system"]["ntp"] == ["c"]
    assert result.data["spec"]["firewall"]["inbound"] == []


def test_mixed_list_is_not_merged_by_name() -> None:
    base = layer("fleet", "spec:\n  x: [{name: a, v: 1}, {name: b}]\n")
    over = layer("device", "spec:\n  x: [{name: a, v: 2}, plain]\n")
    assert merged(base, over).data["spec"]["x"] == [{"name": "a", "v": 2}, "plain"]


def test_null_removes_inherited_value() -> None:
    base = layer(
        "fleet", "spec:\n  system: {timezone: UTC, ntp: [a]}\n  watchdog: {enabled: true}\n"
    )
    over = layer("device", "spec:\n  system: {ntp: null}\n  watchdog: null\n  leds: null\n")
    result = merged(base, over)
    assert result.data == {"spec": {"system": {"timezone": "UTC"}}}
    # The removal is remembered with the whole chain, ending at the null.
    chain = result.removed[("spec", "system", "ntp")]
    assert [o.layer for o in chain] == ["fleet", "device"]
    assert (chain[-1].file, chain[-1].line) == ("device.yaml", 2)
    assert ("spec", "watchdog", "enabled") not in result.provenance
    # A null with nothing to remove is a no-op that is still recorded.
    assert [o.layer for o in result.removed[("spec", "leds")]] == ["device"]


def test_null_inside_named_item_removes_a_field() -> None:
    base = layer("fleet", "spec:\n  f: [{name: a, port: 1, source: 10.0.0.0/8}]\n")
    over = layer("device", "spec:\n  f: [{name: a, source: null}]\n")
    assert merged(base, over).data["spec"]["f"] == [{"name": "a", "port": 1}]


def test_value_set_again_after_removal() -> None:
    a = layer("fleet", "spec:\n  system: {timezone: UTC}\n")
    b = layer("group:g", "spec:\n  system: {timezone: null}\n", priority=1)
    c = layer("device", "spec:\n  system: {timezone: Europe/Berlin}\n")
    result = merged(a, b, c)
    assert result.data["spec"]["system"]["timezone"] == "Europe/Berlin"
    assert ("spec", "system", "timezone") not in result.removed
    assert [o.layer for o in result.provenance[("spec", "system", "timezone")]] == ["device"]


def test_provenance_chain_from_each_layer() -> None:
    fleet = layer("fleet", "spec:\n  watchdog:\n    enabled: true\n    timeoutSeconds: 60\n")
    group = layer("group:site", "spec:\n  watchdog:\n    timeoutSeconds: 30\n", priority=10)
    device = layer("device", "spec:\n\n  watchdog: {timeoutSeconds: 20}\n")
    result = merged(fleet, group, device)
    chain = result.provenance[("spec", "watchdog", "timeoutSeconds")]
    assert [(o.file, o.line, o.col, o.layer) for o in chain] == [
        ("fleet.yaml", 4, 21, "fleet"),
        ("group:site.yaml", 3, 21, "group:site"),
        ("device.yaml", 3, 30, "device"),
    ]
    # Key positions are kept too (unknown-field errors point at the key).
    assert (chain[0].key_line, chain[0].key_col) == (4, 5)
    enabled = result.provenance[("spec", "watchdog", "enabled")]
    assert [o.layer for o in enabled] == ["fleet"]
    assert [o.layer for o in result.provenance[("spec", "watchdog")]] == [
        "fleet",
        "group:site",
        "device",
    ]


def test_provenance_of_named_items_uses_output_index() -> None:
    fleet = layer("fleet", "spec:\n  f:\n    - {name: a, port: 1}\n    - {name: b, port: 2}\n")
    device = layer("device", "spec:\n  f:\n    - {name: b, port: 3}\n")
    result = merged(fleet, device)
    chain = result.provenance[("spec", "f", 1, "port")]
    assert [(o.layer, o.line) for o in chain] == [("fleet", 4), ("device", 3)]
    assert [o.layer for o in result.provenance[("spec", "f", 0, "port")]] == ["fleet"]


def test_replaced_subtree_forgets_old_children() -> None:
    fleet = layer("fleet", "spec:\n  x: {a: 1, b: 2}\n")
    device = layer("device", "spec:\n  x: 5\n")
    result = merged(fleet, device)
    assert result.data["spec"]["x"] == 5
    assert ("spec", "x", "a") not in result.provenance
    assert [o.layer for o in result.provenance[("spec", "x")]] == ["fleet", "device"]


def test_equal_priority_conflict_names_both_files_and_lines() -> None:
    a = layer("group:a", "spec:\n  system:\n    timezone: Europe/Berlin\n", 10, "groups/a.yaml")
    b = layer("group:b", "spec:\n  system: {timezone: Europe/Paris}\n", 10, "groups/b.yaml")
    result = merged(a, b)
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert (problem.file, problem.line, problem.col) == ("groups/b.yaml", 2, 22)
    assert problem.path == "spec.system.timezone"
    assert "groups/a.yaml:3:15" in problem.message
    assert "groups/b.yaml:2:22" in problem.message
    assert "priority 10" in problem.message


def test_equal_priority_same_value_is_fine() -> None:
    a = layer("group:a", "spec:\n  system: {timezone: UTC, ntp: [x]}\n", 10)
    b = layer("group:b", "spec:\n  system: {timezone: UTC, ntp: [x]}\n", 10)
    assert not merged(a, b).problems


def test_equal_priority_named_items_with_different_names_merge() -> None:
    a = layer("group:a", "spec:\n  f: [{name: x, port: 1}]\n", 10)
    b = layer("group:b", "spec:\n  f: [{name: y, port: 2}]\n", 10)
    result = merged(a, b)
    assert not result.problems
    assert [i["name"] for i in result.data["spec"]["f"]] == ["x", "y"]


def test_equal_priority_conflict_inside_named_item_and_on_removal() -> None:
    a = layer("group:a", "spec:\n  f: [{name: x, port: 1}]\n  w: {enabled: true}\n", 5)
    b = layer("group:b", "spec:\n  f: [{name: x, port: 2}]\n  w: null\n", 5)
    problems = merged(a, b).problems
    assert sorted(p.path for p in problems) == ["spec.f.0.port", "spec.w"]
    assert any("removes it" in p.message for p in problems)


def test_different_priorities_and_defaults_never_conflict() -> None:
    fleet = layer("fleet", "spec:\n  system: {timezone: UTC}\n")
    a = layer("group:a", "spec:\n  system: {timezone: Europe/Berlin}\n", 10)
    b = layer("group:b", "spec:\n  system: {timezone: Europe/Paris}\n", 20)
    device = layer("device", "spec:\n  system: {timezone: Asia/Tokyo}\n")
    result = merged(fleet, a, b, device)
    assert not result.problems
    assert result.data["spec"]["system"]["timezone"] == "Asia/Tokyo"


def test_duplicate_names_in_one_layer_are_a_problem() -> None:
    fleet = layer("fleet", "spec:\n  f:\n    - {name: x, port: 1}\n    - {name: x, port: 2}\n")
    result = merged(fleet)
    assert [(p.line, p.path) for p in result.problems] == [(4, "spec.f.1")]
    assert "duplicate name 'x'" in result.problems[0].message


def test_inputs_are_not_mutated_and_bases_are_reusable() -> None:
    fleet = layer("fleet", "spec:\n  system: {timezone: UTC}\n  f: [{name: a, port: 1}]\n")
    snapshot = copy.deepcopy(fleet.data)
    base = merged(fleet)
    base_data = copy.deepcopy(base.data)
    one = merge_layers([layer("device", "spec:\n  system: {hostname: one}\n")], base)
    two = merge_layers(
        [layer("device", "spec:\n  system: {timezone: null}\n  f: [{name: a, port: 2}]\n")],
        base,
    )
    assert fleet.data == snapshot
    assert base.data == base_data
    assert one.data["spec"]["system"] == {"timezone": "UTC", "hostname": "one"}
    assert two.data["spec"] == {"system": {}, "f": [{"name": "a", "port": 2}]}
    assert ("spec", "system", "hostname") not in base.provenance


def test_type_change_replaces() -> None:
    fleet = layer("fleet", "spec:\n  x: [1, 2]\n  y: {a: 1}\n")
    device = layer("device", "spec:\n  x: {a: 1}\n  y: [3]\n")
    assert merged(fleet, device).data["spec"] == {"x": {"a": 1}, "y": [3]}
