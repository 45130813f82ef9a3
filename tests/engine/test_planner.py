"""The planner is a pure function: desired x observed -> changes. These pin its rules."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import pytest

from reconciler.engine.change import Change, Item
from reconciler.engine.credentials import fingerprint, hash_password
from reconciler.engine.document import apply_changes
from reconciler.engine.planner import make_plan, plan_changes, unreported
from reconciler.output import Painter, plan_text

SECRETS = {"wifi": "psk-value-123", "pw": "Password-Value-1"}


def lookup(name: str) -> str:
    return SECRETS[name]


def changes(desired: dict[str, Any], observed: dict[str, Any], **kw: Any) -> list[Any]:
    return plan_changes(desired, observed, secrets=lookup, **kw)


OBSERVED: dict[str, Any] = {
    "system": {"hostname": "uno", "timezone": "UTC", "cpuPercent": 12.5},
    "watchdog": {"enabled": False, "timeoutSeconds": 60, "type": "EC"},
    "access": {
        "roles": [],
        "users": [
            {"name": "admin", "roles": ["admin"], "passwordHash": hash_password("p@ssw0rd")},
            {"name": "old", "roles": ["viewer"], "passwordHash": hash_password("x")},
        ],
    },
    "network": {
        "wifi": {"wlan0": {"networks": [{"ssid": "a", "psk": fingerprint("psk-value-123")}]}}
    },
}


def test_equal_state_gives_no_changes() -> None:
    desired = {"system": {"hostname": "uno"}, "watchdog": {"timeoutSeconds": 60}}
    assert changes(desired, OBSERVED) == []


def test_only_written_fields_are_compared() -> None:
    # timezone differs on the device but the spec does not mention it: not managed.
    result = changes({"system": {"hostname": "press-07"}}, OBSERVED)
    assert [(c.dotted, c.op, c.before, c.after) for c in result] == [
        ("system.hostname", "replace", "uno", "press-07")
    ]


def test_numbers_compare_by_value() -> None:
    assert changes({"watchdog": {"timeoutSeconds": 60.0}}, OBSERVED) == []


def test_missing_key_is_an_add() -> None:
    result = changes({"system": {"description": "Press 7"}}, OBSERVED)
    assert [(c.dotted, c.op, c.before) for c in result] == [("system.description", "add", None)]


def test_named_items_are_diffed_by_name() -> None:
    desired = {"access": {"users": [{"name": "admin", "roles": ["admin", "ops"]}]}}
    result = changes(desired, OBSERVED)
    assert [(c.dotted, c.op) for c in result] == [("access.users[admin].roles", "replace")]
    assert result[0].path == ("access", "users", Item("admin"), "roles")


def test_new_named_item_is_one_add_of_the_whole_item() -> None:
    desired = {"access": {"users": [{"name": "monitor", "roles": ["viewer"]}]}}
    result = changes(desired, OBSERVED)
    assert [(c.dotted, c.op, c.after) for c in result] == [
        ("access.users[monitor]", "add", {"name": "monitor", "roles": ["viewer"]})
    ]


def test_items_not_in_spec_are_kept_without_prune() -> None:
    desired = {"access": {"users": [{"name": "admin", "roles": ["admin"]}]}}
    assert changes(desired, OBSERVED, inventory={("access.users", "old")}) == []


def test_prune_removes_only_items_the_reconciler_created() -> None:
    desired = {"access": {"prune": True, "users": [{"name": "admin", "roles": ["admin"]}]}}
    # Never managed: kept even with prune.
    assert changes(desired, OBSERVED) == []
    result = changes(desired, OBSERVED, inventory={("access.users", "old")})
    assert [(c.dotted, c.op, c.after) for c in result] == [("access.users[old]", "remove", None)]


def test_secret_compared_by_fingerprint_never_carries_value() -> None:
    same = {
        "network": {"wifi": {"wlan0": {"networks": [{"ssid": "a", "psk": {"secretRef": "wifi"}}]}}}
    }
    assert changes(same, OBSERVED) == []
    observed = copy.deepcopy(OBSERVED)
    observed["network"]["wifi"]["wlan0"]["networks"][0]["psk"] = fingerprint("other")
    [change] = changes(same, observed)
    assert change.op == "replace"
    assert "psk-value-123" not in repr(change) and "psk-value-123" not in str(change.as_dict())
    assert change.as_dict()["after"] == [{"ssid": "a", "psk": "(sensitive)"}]


def test_password_compared_against_crypt_hash() -> None:
    desired = {"access": {"users": [{"name": "admin", "password": {"secretRef": "pw"}}]}}
    [change] = changes(desired, OBSERVED)
    assert change.dotted == "access.users[admin].password"
    assert change.sensitive and change.as_dict()["before"] == "(sensitive)"
    observed = copy.deepcopy(OBSERVED)
    observed["access"]["users"][0]["passwordHash"] = hash_password(SECRETS["pw"])
    assert changes(desired, observed) == []


def test_password_hash_is_sensitive() -> None:
    desired = {"access": {"users": [{"name": "admin", "passwordHash": "$6$abc$def"}]}}
    [change] = changes(desired, OBSERVED)
    assert change.sensitive
    assert change.as_dict()["before"] == "(sensitive)" == change.as_dict()["after"]


def test_risk_classes() -> None:
    desired = {
        "network": {"interfaces": {"eth0": {"dhcp": False}}},
        "watchdog": {"enabled": True},
        "system": {"hostname": "x"},
    }
    observed = {**OBSERVED, "network": {"interfaces": {"eth0": {"dhcp": True}}}}
    risks = {c.dotted: c.risk for c in changes(desired, observed)}
    assert risks == {
        "network.interfaces.eth0.dhcp": "connectivity",
        "watchdog.enabled": "disruptive",
        "system.hostname": "none",
    }


@pytest.mark.parametrize(
    "desired",
    [
        {"system": {"hostname": "p7", "description": "d"}, "watchdog": {"enabled": True}},
        {"access": {"users": [{"name": "monitor", "roles": ["viewer"]}]}},
        {"access": {"prune": True, "users": [{"name": "admin", "roles": ["admin"]}]}},
    ],
)
def test_rfc6902_patch_turns_observed_into_target(desired: dict[str, Any]) -> None:
    plan = make_plan(
        "d", "sim", desired, OBSERVED, secrets=lookup, inventory={("access.users", "old")}
    )
    patched = jsonpatch.apply_patch(OBSERVED, list(plan.patch))
    assert patched == apply_changes(OBSERVED, plan.changes)
    assert plan.as_dict()["summary"] == plan.summary


def test_applying_the_plan_converges() -> None:
    desired = {
        "system": {"hostname": "p7"},
        "access": {"users": [{"name": "monitor", "roles": ["viewer"]}]},
    }
    after = apply_changes(OBSERVED, changes(desired, OBSERVED))
    assert changes(desired, after) == []


def test_empty_list_keeps_items_the_reconciler_never_created() -> None:
    observed = {"firewall": {"forward": [{"name": "manual", "port": 80}]}}
    assert changes({"firewall": {"forward": []}}, observed) == []
    pruned = changes(
        {"firewall": {"prune": True, "forward": []}},
        observed,
        inventory={("firewall.forward", "manual")},
    )
    assert [(c.dotted, c.op) for c in pruned] == [("firewall.forward[manual]", "remove")]


def test_fingerprints_are_never_shown() -> None:
    observed = copy.deepcopy(OBSERVED)
    observed["network"]["wifi"]["wlan0"]["networks"][0]["psk"] = fingerprint("old")
    desired = {"network": {"wifi": {"wlan0": {"networks": [{"ssid": "b"}]}}}}
    [change] = changes(desired, observed)
    assert "fp:sha256" not in str(change.as_dict())
    assert change.as_dict()["before"] == [{"ssid": "a", "psk": "(sensitive)"}]


HAND_RULE = "rule input: tcp dport 2323 accept (handle 12)"
FIREWALL_WITH_HAND_RULE: dict[str, Any] = {
    "firewall": {
        "inbound": [{"name": "ssh", "port": 22, "protocol": "tcp"}],
        "unmanaged": [HAND_RULE],
    }
}


def test_unmanaged_content_of_an_owned_area_is_one_removal() -> None:
    desired = {"firewall": {"inbound": [{"name": "ssh", "port": 22, "protocol": "tcp"}]}}
    plan = make_plan("d", "linux", desired, FIREWALL_WITH_HAND_RULE, secrets=lookup)
    [change] = plan.changes
    assert (change.dotted, change.op, change.before, change.after) == (
        "firewall.unmanaged",
        "remove",
        [HAND_RULE],
        None,
    )
    assert change.risk == "connectivity"
    assert change.reason.startswith("not produced by the spec")
    assert plan.as_dict()["changes"][0]["before"] == [HAND_RULE]
    assert list(plan.patch) == [{"op": "remove", "path": "/firewall/unmanaged"}]
    after = apply_changes(FIREWALL_WITH_HAND_RULE, list(plan.changes))
    assert "unmanaged" not in after["firewall"]
    assert changes(desired, after) == []
    text = plan_text(plan, Painter(False))
    assert "- firewall.unmanaged (not produced by the spec):  (connectivity)" in text
    assert f"        - {HAND_RULE}\n" in text


def test_unmanaged_content_is_left_alone_when_the_spec_does_not_declare_the_area() -> None:
    assert changes({"system": {"hostname": "uno"}}, {**OBSERVED, **FIREWALL_WITH_HAND_RULE}) == []


def test_unmanaged_is_planned_next_to_the_fields_the_spec_writes() -> None:
    desired = {"firewall": {"inbound": [{"name": "ssh", "port": 2222, "protocol": "tcp"}]}}
    found = changes(desired, FIREWALL_WITH_HAND_RULE)
    assert [(c.dotted, c.op) for c in found] == [
        ("firewall.inbound[ssh].port", "replace"),
        ("firewall.unmanaged", "remove"),
    ]


def test_an_empty_unmanaged_list_plans_nothing() -> None:
    desired = {"firewall": {"snat": True}}
    assert changes(desired, {"firewall": {"snat": True, "unmanaged": []}}) == []


def test_each_secret_is_looked_up_once_per_plan() -> None:
    looked: list[str] = []

    def counting(name: str) -> str:
        looked.append(name)
        return SECRETS[name]

    networks = [{"ssid": f"n{i}", "psk": {"secretRef": "wifi"}} for i in range(20)]
    desired = {"network": {"wifi": {"wlan0": {"networks": networks}}}}
    observed = copy.deepcopy(desired)
    for net in observed["network"]["wifi"]["wlan0"]["networks"]:
        net["psk"] = fingerprint(SECRETS["wifi"] if net["ssid"] != "n3" else "old")
    [change] = plan_changes(desired, observed, secrets=counting)
    assert change.dotted == "network.wifi.wlan0.networks"  # a plain list: one whole value
    assert looked == ["wifi"]


def test_a_literal_value_equal_on_both_sides_is_no_change_but_a_fingerprint_still_compares() -> (
    None
):
    desired = {"files": [{"name": "/etc/a", "path": "/etc/a", "content": "hello"}]}
    observed = {"files": [{"name": "/etc/a", "path": "/etc/a", "content": fingerprint("hello")}]}
    assert changes(desired, observed) == []
    observed["files"][0]["content"] = fingerprint("bye")
    [change] = changes(desired, observed)
    assert change.dotted == "files[/etc/a].content" and change.op == "replace"


def _rules(*ports: int) -> list[dict[str, Any]]:
    return [{"name": f"r{i}", "port": port, "protocol": "tcp"} for i, port in enumerate(ports)]


def test_verifying_an_apply_finds_each_change_the_device_does_not_report() -> None:
    desired = {
        "firewall": {"inbound": _rules(22, 80, 443)},
        "access": {"users": [{"name": "admin", "password": {"secretRef": "pw"}}]},
        "operations": [{"name": "reboot-1", "action": "reboot"}],
    }
    before = {
        "firewall": {"inbound": [*_rules(22, 8080), {"name": "gone", "port": 1}]},
        "access": {"users": [{"name": "admin", "passwordHash": hash_password("old")}]},
        "operations": [],
    }
    planned = changes(desired, before, inventory={("firewall.inbound", "gone")})
    planned.append(Change(("firewall", "inbound", Item("gone")), "remove", {"name": "gone"}, None))
    landed = copy.deepcopy(desired)
    landed["access"]["users"][0] = {
        "name": "admin",
        "passwordHash": hash_password("Password-Value-1"),
    }
    missed = unreported(planned, landed, desired=desired, secrets=lookup)
    assert missed == [False] * len(planned)

    half = copy.deepcopy(before)  # the device kept everything as it was
    missed = unreported(planned, half, desired=desired, secrets=lookup)
    assert dict(zip([c.dotted for c in planned], missed, strict=True)) == {
        "firewall.inbound[r1].port": True,
        "firewall.inbound[r2]": True,
        "access.users[admin].password": True,
        "operations[reboot-1]": True,
        "firewall.inbound[gone]": True,  # still there after its removal
    }
