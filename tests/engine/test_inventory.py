"""The prune inventory as the planner reads it: kept in memory between plans, yet never
stale, whether this process or another one changed it."""

from __future__ import annotations

from pathlib import Path

from reconciler.engine.change import Change, Item
from reconciler.engine.store import Store


def _add(name: str) -> Change:
    return Change(("firewall", "inbound", Item(name)), "add", None, {"name": name})


def test_the_inventory_follows_writes_of_this_store_and_of_another_process(
    tmp_path: Path,
) -> None:
    mine, other = Store(tmp_path), Store(tmp_path)  # two connections, as two processes
    assert mine.inventory("dev") == set()
    mine.record_inventory("dev", 1, [_add("a")])
    assert mine.inventory("dev") == {("firewall.inbound", "a")}
    other.record_inventory("dev", 2, [_add("b"), _add("c")])
    assert mine.inventory("dev") == {("firewall.inbound", n) for n in "abc"}
    with other.transaction():
        other.record_inventory("dev", 3, [Change(_add("a").path, "remove", {}, None)])
    assert mine.inventory("dev") == {("firewall.inbound", "b"), ("firewall.inbound", "c")}
    assert mine.inventory("other-device") == set()
    got = mine.inventory("dev")
    got.clear()  # the caller's copy: the store's memory is unharmed
    assert len(mine.inventory("dev")) == 2
