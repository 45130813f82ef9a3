"""Editing state documents: named items found by index, copies only where changed."""

from __future__ import annotations

import copy
from typing import Any

from reconciler.engine.change import Change, Item
from reconciler.engine.document import MISSING, Editor, apply_changes, json_pointer


def _doc(n: int) -> dict[str, Any]:
    rules = [{"name": f"r{i}", "port": i} for i in range(n)]
    return {"firewall": {"inbound": rules}, "system": {"hostname": "a"}}


def test_apply_changes_leaves_the_input_as_it_was_and_shares_what_it_did_not_touch() -> None:
    doc = _doc(50)
    before = copy.deepcopy(doc)
    changes = [
        Change(("firewall", "inbound", Item("r7"), "port"), "replace", 7, 70),
        Change(("firewall", "inbound", Item("r9")), "remove", {}, None),
        Change(("firewall", "inbound", Item("new")), "add", None, {"name": "new", "port": 1}),
    ]
    out = apply_changes(doc, changes)
    assert doc == before
    rules = {r["name"]: r for r in out["firewall"]["inbound"]}
    assert rules["r7"]["port"] == 70 and "r9" not in rules and rules["new"]["port"] == 1
    assert out["system"] is doc["system"]  # untouched: shared, not copied
    assert rules["r8"] is doc["firewall"]["inbound"][8]


def test_many_edits_on_one_list_keep_the_index_right() -> None:
    doc = _doc(10)
    editor = Editor(doc)
    editor.remove(("firewall", "inbound", Item("r2")))
    editor.set(("firewall", "inbound", Item("r5"), "port"), 55)
    editor.set(("firewall", "inbound", Item("x")), {"name": "x", "port": 0})
    editor.set(("firewall", "inbound", Item("x"), "port"), 1)
    names = [r["name"] for r in doc["firewall"]["inbound"]]
    assert names == ["r0", "r1", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "x"]
    assert doc["firewall"]["inbound"][4] == {"name": "r5", "port": 55}
    assert doc["firewall"]["inbound"][-1] == {"name": "x", "port": 1}
    assert json_pointer(doc, ("firewall", "inbound", Item("x"))) == "/firewall/inbound/9"
    assert json_pointer(doc, ("firewall", "inbound", Item("zz"))) == "/firewall/inbound/-"


def test_lookups_find_the_first_item_of_a_name_before_and_after_the_list_is_indexed() -> None:
    doc = _doc(5)
    doc["firewall"]["inbound"].append({"name": "r1", "port": 99})  # a repeated name
    editor = Editor(doc)
    path = ("firewall", "inbound", Item("r1"), "port")
    assert editor.get(path) == 1  # first lookup: a scan
    assert editor.get(path) == 1  # then through the index
    assert editor.get(("firewall", "inbound", Item("zz"))) is MISSING
    editor.set(("firewall", "inbound", Item("new")), {"name": "new", "port": 7})
    assert editor.get(("firewall", "inbound", Item("new"), "port")) == 7
