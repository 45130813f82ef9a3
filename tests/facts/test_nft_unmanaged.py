"""The reconciler's nftables table is owned whole: what rendering the spec would not
produce is listed under `unmanaged` (pure parse of captured `nft -j list ruleset`)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from reconciler.drivers.linux.facts.nft import reconciler_table

CASE = json.loads((Path(__file__).parent / "NftRuleset/hand-added-rule.json").read_text())
RULESET: dict[str, Any] = CASE["args"][0]


def _only_rendered(ruleset: dict[str, Any]) -> dict[str, Any]:
    """The captured ruleset without what was added to the reconciler's table by hand."""
    keep = []
    for item in ruleset["nftables"]:
        (kind, body), *_ = item.items()
        hand = kind == "set" or body.get("chain") == "extra" or body.get("name") == "extra"
        hand = hand or (kind == "rule" and body.get("handle") in (15, 16))
        if not (hand and body.get("table") == "reconciler"):
            keep.append(item)
    return {"nftables": keep}


def _rules(ruleset: dict[str, Any]) -> list[dict[str, Any]]:
    return [i["rule"] for i in ruleset["nftables"] if "rule" in i]


def test_the_rendered_table_alone_has_nothing_unmanaged() -> None:
    parsed = reconciler_table(_only_rendered(RULESET))
    assert parsed is not None and "unmanaged" not in parsed
    assert parsed == {k: v for k, v in CASE["expected"].items() if k != "unmanaged"}


def test_rules_in_other_tables_are_never_reported() -> None:
    parsed = reconciler_table(RULESET)
    assert parsed is not None
    assert not any("2424" in line for line in parsed["unmanaged"])


def test_a_duplicated_base_rule_is_unmanaged() -> None:
    ruleset = copy.deepcopy(_only_rendered(RULESET))
    first = next(r for r in _rules(ruleset) if r["handle"] == 4)
    ruleset["nftables"].append({"rule": {**first, "handle": 99}})
    parsed = reconciler_table(ruleset)
    assert parsed is not None
    assert parsed["unmanaged"] == ["rule input: ct state established,related accept (handle 99)"]


def test_inbound_rules_in_an_accepting_input_chain_are_unmanaged() -> None:
    ruleset = copy.deepcopy(_only_rendered(RULESET))
    for item in ruleset["nftables"]:
        if "chain" in item and item["chain"]["name"] == "input":
            item["chain"]["policy"] = "accept"
    parsed = reconciler_table(ruleset)
    assert parsed is not None and "inbound" not in parsed
    assert (
        'rule input: tcp dport 22 accept comment "inbound:ssh" (handle 11)' in (parsed["unmanaged"])
    )
    assert "rule input: ct state invalid drop (handle 5)" in parsed["unmanaged"]


def test_a_missing_or_reshaped_chain_is_unmanaged() -> None:
    ruleset = copy.deepcopy(_only_rendered(RULESET))
    ruleset["nftables"] = [
        i
        for i in ruleset["nftables"]
        if not ("chain" in i and i["chain"]["name"] == "postrouting")
        and not ("rule" in i and i["rule"]["chain"] == "postrouting")
    ]
    for item in ruleset["nftables"]:
        if "chain" in item and item["chain"]["name"] == "prerouting":
            item["chain"]["policy"] = "drop"
    parsed = reconciler_table(ruleset)
    assert parsed is not None
    assert parsed["unmanaged"] == [
        "chain prerouting: type nat hook prerouting priority -100 policy drop (handle 2)",
        "chain postrouting: missing",
    ]
